"""The jobs admin: list filters, the change page, and actions that go through the services."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from generation.models import GenerationJob, JobStatus
from tests.generation.helpers import stored_files

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/generation/generationjob/"


@pytest.fixture
def no_enqueue(monkeypatch):
    """Retried jobs are queued, not rendered: record what would have been enqueued."""
    queued: list[str] = []
    monkeypatch.setattr("generation.services.jobs._enqueue", lambda job_id, delay=0: queued.append(job_id))
    return queued


def _completed_job(astronaut_path: Path) -> GenerationJob:
    job = GenerationJob.objects.create(
        status=JobStatus.COMPLETED, progress=100, stage="Done", engine="native",
        params={"resolution": "480p", "fps": 25, "background": {"mode": "none"}},
        timings={"tts": 0.0, "audio": 0.12, "phones": 0.85, "face": 0.31, "render": 4.2},
        fallback_reasons=[{"engine": "sadtalker", "reason": "SadTalker weights are missing"}],
    )
    job.image.save("image.png", ContentFile(astronaut_path.read_bytes()), save=False)
    job.output.save(f"{job.id}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32), save=False)
    job.captions_vtt.save(f"{job.id}.vtt", ContentFile(b"WEBVTT\n"), save=False)
    job.save()
    return job


def test_list_filters_and_search(admin_client, astronaut_path):
    done = _completed_job(astronaut_path)
    failed = GenerationJob.objects.create(status=JobStatus.FAILED, engine="still", error="No face was found in the image.")
    page = admin_client.get(LIST_URL).content.decode()
    assert str(done.id) in page and str(failed.id) in page and "No face was found" in page
    only_failed = admin_client.get(LIST_URL, {"status__exact": "failed"}).content.decode()
    assert str(failed.id) in only_failed and str(done.id) not in only_failed
    by_engine = admin_client.get(LIST_URL, {"engine__exact": "native"}).content.decode()
    assert str(done.id) in by_engine and str(failed.id) not in by_engine
    found = admin_client.get(LIST_URL, {"q": str(done.id)[:8]}).content.decode()
    assert str(done.id) in found and str(failed.id) not in found


def test_change_page_shows_video_source_parameters_timings_and_fallbacks(admin_client, astronaut_path):
    job = _completed_job(astronaut_path)
    response = admin_client.get(f"{LIST_URL}{job.id}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<video controls preload="metadata" src="/api/v1/download/{job.id}.mp4"' in page
    assert f'href="/api/v1/download/{job.id}.vtt"' in page
    assert '<img src="data:image/jpeg;base64,' in page
    assert "<td>render</td><td style='text-align:right'>4.20</td>" in page
    assert "<td>phones</td>" in page and "5.48" in page  # total
    assert "&quot;resolution&quot;: &quot;480p&quot;" in page  # pretty JSON, escaped
    assert "<strong>sadtalker</strong>: SadTalker weights are missing" in page
    assert "/media/" not in page  # no public file route to inputs


def test_thumbnail_is_small():
    import base64

    import cv2
    import numpy as np

    from generation.admin import THUMBNAIL_MAX_SIDE, source_thumbnail_data_uri

    job = GenerationJob.objects.create()
    big = np.full((1200, 900, 3), 200, np.uint8)
    job.image.save("image.png", ContentFile(cv2.imencode(".png", big)[1].tobytes()))
    uri = source_thumbnail_data_uri(job.image)
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert max(decoded.shape[:2]) == THUMBNAIL_MAX_SIDE and decoded.shape[:2] == (320, 240)
    job.image.save("image.png", ContentFile(b"not an image"))
    assert source_thumbnail_data_uri(job.image) is None


def test_retry_action_requeues_failed_jobs_only(admin_client, no_enqueue, django_capture_on_commit_callbacks):
    failed = GenerationJob.objects.create(status=JobStatus.FAILED, stage="Failed", error="boom", progress=40)
    running = GenerationJob.objects.create(status=JobStatus.PROCESSING)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(LIST_URL, {"action": "retry_jobs", "_selected_action": [str(failed.id), str(running.id)]},
                                     follow=True)
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == JobStatus.PROCESSING and failed.error == "" and failed.progress == 40  # never backwards
    assert no_enqueue == [str(failed.id)]
    page = response.content.decode()
    assert "1 job(s) re-queued" in page and "Only failed or cancelled jobs can be retried" in page


def test_cancel_action_cancels_running_jobs(admin_client):
    running = GenerationJob.objects.create(status=JobStatus.PROCESSING)
    done = GenerationJob.objects.create(status=JobStatus.COMPLETED, progress=100)
    admin_client.post(LIST_URL, {"action": "cancel_jobs", "_selected_action": [str(running.id), str(done.id)]})
    running.refresh_from_db()
    done.refresh_from_db()
    assert running.status == JobStatus.CANCELLED and running.finished_at is not None
    assert done.status == JobStatus.COMPLETED


def test_delete_selected_removes_jobs_and_their_files(admin_client, astronaut_path, settings):
    jobs = [_completed_job(astronaut_path) for _ in range(2)]
    keep = _completed_job(astronaut_path)
    assert len(stored_files(settings.MEDIA_ROOT)) == 9
    ids = [str(j.id) for j in jobs]
    confirm = admin_client.post(LIST_URL, {"action": "delete_selected", "_selected_action": ids})
    assert confirm.status_code == 200 and b"Are you sure" in confirm.content
    admin_client.post(LIST_URL, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert list(GenerationJob.objects.values_list("id", flat=True)) == [keep.id]
    remaining = stored_files(settings.MEDIA_ROOT)
    assert len(remaining) == 3 and not any(any(i in str(p) for i in ids) for p in remaining)


def test_per_object_delete_removes_files(admin_client, astronaut_path, settings):
    job = _completed_job(astronaut_path)
    response = admin_client.post(f"{LIST_URL}{job.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not GenerationJob.objects.filter(id=job.id).exists()
    assert stored_files(settings.MEDIA_ROOT) == []
