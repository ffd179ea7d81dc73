"""row_insert writes the row save() would write, through a statement built once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from generation.models import GenerationJob
from generation.services.rows import _insert_sql, row_insert

UNCOMPARED = {"id", "created_at", "updated_at", "idempotency_key", "image"}  # per job, checked below


def _job(key: str) -> GenerationJob:
    job = GenerationJob(kind="prompt", params={"voice": "en", "background": {"type": "none"}, "fps": 25}, text="Grüß dich.",
                        idempotency_key=key, request_fingerprint="f" * 64)
    job.image.name = f"inputs/{job.id}/image.png"
    return job


@pytest.mark.django_db
def test_the_row_is_the_one_save_writes():
    saved, inserted = _job("a"), _job("b")
    saved.save(force_insert=True)
    row_insert(inserted)
    rows = {row["idempotency_key"]: row for row in GenerationJob.objects.values()}
    assert {k: v for k, v in rows["a"].items() if k not in UNCOMPARED} == {k: v for k, v in rows["b"].items() if k not in UNCOMPARED}
    assert rows["b"]["id"] == inserted.id and rows["b"]["created_at"] is not None and rows["b"]["updated_at"] is not None
    assert rows["b"]["image"] == f"inputs/{inserted.id}/image.png"
    assert not inserted._state.adding and inserted._state.db == "default"
    inserted.refresh_from_db()
    assert inserted.params["background"] == {"type": "none"} and inserted.text == "Grüß dich."


@pytest.mark.django_db
def test_the_statement_is_built_once():
    _insert_sql.cache_clear()
    row_insert(_job("a"))
    row_insert(_job("b"))
    info = _insert_sql.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert GenerationJob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_key_raises_integrity_error_in_autocommit_and_inside_a_transaction():
    row_insert(_job("same"))
    with pytest.raises(IntegrityError):
        row_insert(_job("same"))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            row_insert(_job("same"))
        row_insert(_job("other"))  # the transaction goes on
    assert sorted(GenerationJob.objects.values_list("idempotency_key", flat=True)) == ["other", "same"]


@pytest.mark.django_db
def test_a_model_whose_key_the_database_fills_in_is_refused():
    with pytest.raises(TypeError, match="filled in by the database"):
        row_insert(Group(name="editors"))
