"""Fixtures for the reliability tests: fresh rate-limit counters, jobs that stay queued."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queued_only(monkeypatch) -> list[str]:
    """Jobs are created but not rendered: returns the ids that would have been enqueued."""
    from generation.services import jobs

    enqueued: list[str] = []
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id, delay=0: enqueued.append(job_id))
    return enqueued
