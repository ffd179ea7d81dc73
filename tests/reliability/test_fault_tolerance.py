"""Faults: lost workers are re-queued with backoff then failed with a message; a
replaced worker cannot overwrite its successor; a failing ffmpeg or a full disk
ends the job failed with a clear error and leaves no temporary or partial file."""

from __future__ import annotations

import errno
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from generation import services
from generation.models import GenerationJob, JobStatus
from generation.pipeline import media
from generation.services import jobs
from paksatalker_site.errors import MediaError
from tests.reliability.helpers import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, float]]:
    calls: list[tuple[str, float]] = []
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id, delay=0: calls.append((job_id, delay)))
    return calls


def _running_job(attempts: int, silent_for: float) -> GenerationJob:
    job = services.job_create(kind="prompt", params={}, text="Hello.")
    token = services.job_claim(job_id=str(job.id))
    assert token
    GenerationJob.objects.filter(id=job.id).update(attempts=attempts, heartbeat_at=timezone.now() - timedelta(seconds=silent_for))
    return GenerationJob.objects.get(id=job.id)


def test_lost_worker_requeued_with_growing_backoff(settings, enqueued):
    settings.PAKSA_STALE_AFTER_SECONDS = 30
    settings.PAKSA_MAX_ATTEMPTS = 3
    first = _running_job(attempts=1, silent_for=60)
    second = _running_job(attempts=2, silent_for=60)
    alive = _running_job(attempts=1, silent_for=5)
    assert services.jobs_reap_stale() == {"requeued": 2, "failed": 0}
    delays = dict(enqueued)
    assert delays[str(first.id)] == 5 and delays[str(second.id)] == 10
    for job in (first, second):
        job.refresh_from_db()
        assert job.status == JobStatus.PROCESSING and job.run_token == "" and job.started_at is None
        assert "retry" in job.stage
    alive.refresh_from_db()
    assert alive.run_token and str(alive.id) not in delays
    # The re-queued job is claimable again, and counts the attempt.
    assert services.job_claim(job_id=str(first.id))
    assert GenerationJob.objects.get(id=first.id).attempts == 2


def test_attempts_exhausted_ends_failed_with_message(client, settings, enqueued):
    settings.PAKSA_STALE_AFTER_SECONDS = 30
    settings.PAKSA_MAX_ATTEMPTS = 3
    job = _running_job(attempts=3, silent_for=120)
    assert services.jobs_reap_stale() == {"requeued": 0, "failed": 1}
    data = client.get(f"/api/v1/status/{job.id}").json()["data"]
    assert data["status"] == "failed" and "stopped responding 3 times" in data["error"]
    assert enqueued == []


def test_replaced_worker_cannot_write(settings, enqueued, tmp_path):
    settings.PAKSA_STALE_AFTER_SECONDS = 30
    job = _running_job(attempts=1, silent_for=60)
    old_token = job.run_token
    services.jobs_reap_stale()
    new_token = services.job_claim(job_id=str(job.id))
    with pytest.raises(services.JobSuperseded):
        services.job_progress_update(job_id=str(job.id), token=old_token, progress=50, stage="Rendering frames")
    video = tmp_path / "late.mp4"
    video.write_bytes(b"stale result")
    with pytest.raises(services.JobSuperseded):
        services.job_complete(job_id=str(job.id), token=old_token, output=video, result_fields={})
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and job.run_token == new_token and not job.output.name
    assert stored_files(settings.MEDIA_ROOT) == []


class _DiskFullEncoder(media.FrameEncoder):
    """ffmpeg that runs out of space after a few frames, as on a full disk."""

    def write(self, frame) -> None:
        if self.frames_written >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(frame)


def _failing_still_video(still_png: Path, audio: Path, out: Path, **kwargs) -> Path:
    out.write_bytes(b"partial mp4 header")  # what a dying ffmpeg leaves behind
    raise MediaError("ffmpeg failed to encode the video", stderr="av_interleaved_write_frame(): No space left on device")


@pytest.mark.slow
def test_disk_full_and_failing_ffmpeg_end_the_job_failed(client, settings, enqueued, monkeypatch, astronaut_path, short_speech_wav):
    settings.PAKSA_DISABLED_ENGINES = ("sadtalker", "wav2lip")
    monkeypatch.setattr(media, "FrameEncoder", _DiskFullEncoder)
    monkeypatch.setattr(media, "still_video", _failing_still_video)
    response = client.post("/api/v1/generate/fusion-video", {
        "image": SimpleUploadedFile("a.png", astronaut_path.read_bytes()),
        "audio": SimpleUploadedFile("s.wav", short_speech_wav.read_bytes()),
        "resolution": "480p", "expressionEngine": "none", "captions": "none",
    })
    assert response.status_code == 200, response.content
    job_id = response.json()["task_id"]
    services.job_run(job_id=job_id)

    data = client.get(f"/api/v1/status/{job_id}").json()["data"]
    assert data["status"] == "failed", data
    assert "No space left on device" in data["error"], data["error"]
    assert "ffmpeg failed" in data["error"], data["error"]
    assert data["video_url"] is None
    # No scratch files, no partial output, inputs kept for a retry from the admin.
    work = Path(settings.WORK_DIR)
    assert [p for p in work.rglob("*") if p.is_file()] == [] if work.exists() else True
    media_root = Path(settings.MEDIA_ROOT)
    assert not (media_root / "outputs").exists() or list((media_root / "outputs").iterdir()) == []
    assert {p.parent.name for p in stored_files(media_root)} == {job_id}
