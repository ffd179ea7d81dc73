"""Retention: old ended jobs lose their files; orphaned temporary files go; live work stays."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from generation.models import GenerationJob, JobStatus
from generation.services import job_create
from generation.services.retention import RETENTION_NOTE, retention_sweep
from tests.reliability.helpers import stored_files

pytestmark = pytest.mark.django_db

DAY = 86400


def _job(png: bytes, *, status: str, finished_days_ago: float | None, with_output: bool, media_root: Path) -> GenerationJob:
    job = job_create(kind="fusion", params={"resolution": "480p"}, text="Some private words.",
                     image=SimpleUploadedFile("a.png", png), image_ext="png")
    updates = {"status": status}
    if finished_days_ago is not None:
        updates["finished_at"] = timezone.now() - timedelta(days=finished_days_ago)
    if with_output:
        out = media_root / "outputs" / f"{job.id}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"mp4 bytes")
        updates["output"] = f"outputs/{job.id}.mp4"
    GenerationJob.objects.filter(id=job.id).update(**updates)
    return GenerationJob.objects.get(id=job.id)


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_old_ended_jobs_lose_inputs_and_outputs(settings, queued_only, astronaut_path):
    settings.PAKSA_RETENTION_DAYS = 7
    media = Path(settings.MEDIA_ROOT)
    png = astronaut_path.read_bytes()
    old_done = _job(png, status=JobStatus.COMPLETED, finished_days_ago=8, with_output=True, media_root=media)
    old_failed = _job(png, status=JobStatus.FAILED, finished_days_ago=30, with_output=False, media_root=media)
    recent = _job(png, status=JobStatus.COMPLETED, finished_days_ago=1, with_output=True, media_root=media)
    running = _job(png, status=JobStatus.PROCESSING, finished_days_ago=None, with_output=False, media_root=media)
    GenerationJob.objects.filter(id=running.id).update(created_at=timezone.now() - timedelta(days=20))

    report = retention_sweep()

    assert report.jobs_purged == 2 and report.files_deleted == 3 and not report.errors
    for job in (old_done, old_failed):
        job.refresh_from_db()
        assert not job.image.name and not job.output.name and job.text == ""
        assert RETENTION_NOTE in job.notes
        assert not (media / "inputs" / str(job.id)).exists()
    remaining = {p.relative_to(media).as_posix() for p in stored_files(media)}
    assert remaining == {recent.image.name, recent.output.name, running.image.name}
    # The row still answers a late poll, without a video.
    client_data = GenerationJob.objects.get(id=old_done.id)
    assert client_data.status == JobStatus.COMPLETED
    # A second sweep finds nothing more to do.
    assert retention_sweep().jobs_purged == 0


def test_status_of_a_purged_job(client, settings, queued_only, astronaut_path):
    job = _job(astronaut_path.read_bytes(), status=JobStatus.COMPLETED, finished_days_ago=10, with_output=True,
               media_root=Path(settings.MEDIA_ROOT))
    retention_sweep(retention_days=7)
    data = client.get(f"/api/v1/status/{job.id}").json()["data"]
    assert data["status"] == "completed" and data["video_url"] is None
    assert client.get(f"/api/v1/download/{job.id}.mp4").status_code == 404


def test_zero_days_keeps_everything(settings, queued_only, astronaut_path):
    settings.PAKSA_RETENTION_DAYS = 0
    _job(astronaut_path.read_bytes(), status=JobStatus.COMPLETED, finished_days_ago=400, with_output=True,
         media_root=Path(settings.MEDIA_ROOT))
    assert retention_sweep().jobs_purged == 0


def test_partial_outputs_and_orphaned_inputs(settings, queued_only):
    media = Path(settings.MEDIA_ROOT)
    outputs = media / "outputs"
    outputs.mkdir(parents=True)
    old_part = outputs / f".{uuid.uuid4()}.mp4.1a2b3c4d.part"
    fresh_part = outputs / f".{uuid.uuid4()}.mp4.5e6f7a8b.part"
    for part in (old_part, fresh_part):
        part.write_bytes(b"half an mp4")
    _age(old_part, 2 * 3600)
    orphan = media / "inputs" / str(uuid.uuid4())
    orphan.mkdir(parents=True)
    (orphan / "image.png").write_bytes(b"png")
    _age(orphan, 2 * 3600)
    young_orphan = media / "inputs" / str(uuid.uuid4())  # a submission may be saving it right now
    young_orphan.mkdir()

    report = retention_sweep()

    assert report.partial_files_deleted == 1 and report.orphan_inputs_deleted == 1
    assert not old_part.exists() and fresh_part.exists()
    assert not orphan.exists() and young_orphan.exists()


def test_work_dirs(settings, queued_only, astronaut_path):
    settings.PAKSA_STALE_AFTER_SECONDS = 60
    work = Path(settings.WORK_DIR)
    media = Path(settings.MEDIA_ROOT)
    png = astronaut_path.read_bytes()
    ended = _job(png, status=JobStatus.FAILED, finished_days_ago=0, with_output=False, media_root=media)
    running = _job(png, status=JobStatus.PROCESSING, finished_days_ago=None, with_output=False, media_root=media)
    GenerationJob.objects.filter(id=running.id).update(run_token="livetoken")

    def make(*parts: str, age: float = 0) -> Path:
        path = work.joinpath(*parts)
        path.mkdir(parents=True)
        (path / "frame.png").write_bytes(b"x")
        if age:
            _age(path, age)
        return path

    ended_dir = make(str(ended.id), "sometoken")
    gone_dir = make(str(uuid.uuid4()), "t")
    live_dir = make(str(running.id), "livetoken", age=600)
    superseded_dir = make(str(running.id), "oldtoken", age=600)
    just_superseded = make(str(running.id), "newertoken", age=5)
    abandoned_tmp = make("render-abc123", age=2 * DAY)
    fresh_tmp = make("render-def456")

    report = retention_sweep()

    assert not ended_dir.parent.exists() and not gone_dir.parent.exists()
    assert live_dir.exists() and not superseded_dir.exists() and just_superseded.exists()
    assert not abandoned_tmp.exists() and fresh_tmp.exists()
    assert report.work_dirs_deleted == 4


def test_periodic_task_is_registered_and_runs(settings, queued_only, astronaut_path):
    from huey.contrib.djhuey import HUEY

    from generation import tasks  # noqa: F401 - registers every task
    from generation.tasks_maintenance import retention_periodic_task

    assert any(t.__name__.endswith("retention_periodic_task") for t in HUEY._registry._periodic_tasks)
    job = _job(astronaut_path.read_bytes(), status=JobStatus.CANCELLED, finished_days_ago=9, with_output=False,
               media_root=Path(settings.MEDIA_ROOT))
    result = retention_periodic_task.call_local()
    assert result["jobs_purged"] == 1
    job.refresh_from_db()
    assert not job.image.name
