"""job_create stores a job's row with Model.save(): signals, defaults and races as Django has them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.db.models.signals import post_save

from generation.models import GenerationJob
from generation.services import job_create
from tests.reliability.helpers import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    from generation.services import jobs

    enqueued: list[str] = []
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id, delay=0: enqueued.append(job_id))
    return enqueued


def test_a_new_job_row_is_saved_with_its_signals_and_defaults(queued, django_capture_on_commit_callbacks):
    saved = []

    def receiver(sender, instance, created, **kwargs):
        saved.append((instance.id, created))

    post_save.connect(receiver, sender=GenerationJob)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = job_create(kind="prompt", params={"voice": "en"}, text="Hello.")
    finally:
        post_save.disconnect(receiver, sender=GenerationJob)
    assert saved == [(job.id, True)]
    row = GenerationJob.objects.get(id=job.id)
    assert row.status == "processing" and row.created_at is not None and row.params == {"voice": "en"}
    assert queued == [str(job.id)]  # enqueued once the row is committed


def test_a_raced_idempotency_key_takes_its_files_with_it_and_the_transaction_goes_on(settings, queued):
    job_create(kind="prompt", params={}, text="First.", idempotency_key="same")
    image = SimpleUploadedFile("a.png", b"\x89PNG not checked here")
    with pytest.raises(IntegrityError):
        job_create(kind="fusion", params={}, text="Second.", image=image, idempotency_key="same")
    assert stored_files(settings.MEDIA_ROOT) == []
    assert GenerationJob.objects.count() == 1  # the test's own transaction is still usable
