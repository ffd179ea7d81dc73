"""Schemathesis against the OpenAPI document, in-process: no request gives a 5xx."""

from __future__ import annotations

import pytest

from generation.bench.fuzz import fuzz_schema

# Transactional: the WSGI app closes, at the end of each request, a connection left inside a
# transaction (Django's close_old_connections), as it would the test's own.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_no_operation_answers_5xx(settings, queued_only):
    import schemathesis

    from paksatalker_site.wsgi import application

    settings.PAKSA_RATE_LIMIT_PER_MINUTE = 0
    settings.PAKSA_READ_RATE_LIMIT_PER_MINUTE = 0
    settings.PAKSA_TTS_PROVIDERS = ("espeak",)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    report = fuzz_schema(schema, max_examples=8, seed=7, time_budget=50)
    assert report.operations >= 8, report.as_dict()
    assert report.requests >= 4 * report.operations
    assert report.server_errors == [], report.as_dict()
    assert any(400 <= status < 500 for status in report.by_status), report.as_dict()
