"""Retention: remove what ended jobs left behind, and temporary files nobody owns.

- Inputs and outputs of jobs that ended more than PAKSA_RETENTION_DAYS ago are
  deleted from storage (local or S3). The row stays, without files or text, so a
  late status poll still answers (with no video_url) instead of 404.
- ``.part`` files in outputs/ (a worker killed while storing its MP4) and input
  folders of jobs that were never created (a submission that failed after its
  files were saved) are removed once older than an hour.
- Work dirs under settings.WORK_DIR: a job's dir goes once the job ended or is
  gone; a run's dir goes once the job was taken over by another run; anything
  else there goes after a day.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import Q

from generation.models import ENDED_STATUSES, GenerationJob

logger = logging.getLogger(__name__)

FILE_FIELDS = ("image", "audio", "background_image", "output", "captions_vtt", "captions_srt")
PARTIAL_MAX_AGE_SECONDS = 3600  # a .part younger than this may still be being written
ORPHAN_MAX_AGE_SECONDS = 3600
WORK_DIR_MAX_AGE_SECONDS = 86400
RETENTION_NOTE = "Inputs and outputs were deleted by the retention policy."


@dataclass
class RetentionReport:
    jobs_purged: int = 0
    files_deleted: int = 0
    partial_files_deleted: int = 0
    orphan_inputs_deleted: int = 0
    work_dirs_deleted: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def retention_sweep(*, retention_days: float | None = None, now: float | None = None) -> RetentionReport:
    """One pass of every rule above; safe to run on any node, any number of times."""
    report = RetentionReport()
    days = settings.PAKSA_RETENTION_DAYS if retention_days is None else retention_days
    now = time.time() if now is None else now
    if days > 0:
        jobs_expired_purge(days=days, report=report, now=now)
    if isinstance(default_storage, FileSystemStorage):
        partial_outputs_delete(report=report, now=now)
        orphan_inputs_delete(report=report, now=now)
    work_dirs_clean(report=report, now=now)
    if any(v for k, v in report.as_dict().items() if k != "errors") or report.errors:
        logger.info("retention: %s", report.as_dict())
    return report


def jobs_expired_purge(*, days: float, report: RetentionReport, now: float) -> None:
    cutoff = datetime.fromtimestamp(now, tz=UTC) - timedelta(days=days)
    has_files = Q()
    for name in FILE_FIELDS:
        has_files |= ~Q(**{name: ""})
    expired = GenerationJob.objects.filter(status__in=ENDED_STATUSES).filter(
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, updated_at__lt=cutoff)
    ).filter(has_files | ~Q(text=""))
    for job in expired.iterator():
        for name in FILE_FIELDS:
            stored = getattr(job, name)
            if not stored.name:
                continue
            try:
                stored.storage.delete(stored.name)
                report.files_deleted += 1
            except Exception as exc:  # noqa: BLE001 - keep going; the next sweep retries
                report.errors.append(f"{job.id} {name}: {exc}")
                continue
            setattr(job, name, "")
        job.text = ""
        if RETENTION_NOTE not in (job.notes or []):
            job.notes = [*(job.notes or []), RETENTION_NOTE]
        job.save(update_fields=[*FILE_FIELDS, "text", "notes", "updated_at"])
        _remove_empty_input_dir(job.id)
        report.jobs_purged += 1


def _remove_empty_input_dir(job_id) -> None:
    if isinstance(default_storage, FileSystemStorage):
        folder = Path(default_storage.path(f"inputs/{job_id}"))
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def partial_outputs_delete(*, report: RetentionReport, now: float) -> None:
    outputs = Path(default_storage.path("outputs"))
    if not outputs.is_dir():
        return
    for path in outputs.glob(".*.part"):
        if _age(path, now) > PARTIAL_MAX_AGE_SECONDS and _unlink(path, report):
            report.partial_files_deleted += 1


def orphan_inputs_delete(*, report: RetentionReport, now: float) -> None:
    inputs = Path(default_storage.path("inputs"))
    if not inputs.is_dir():
        return
    for folder in inputs.iterdir():
        job_id = _as_uuid(folder.name)
        if job_id is None or not folder.is_dir() or _age(folder, now) <= ORPHAN_MAX_AGE_SECONDS:
            continue
        if not GenerationJob.objects.filter(id=job_id).exists():
            shutil.rmtree(folder, ignore_errors=True)
            report.orphan_inputs_deleted += 1


def work_dirs_clean(*, report: RetentionReport, now: float) -> None:
    """WORK_DIR/<job_id>/<run_token>/ belongs to one run of one job (running.job_run)."""
    root = Path(settings.WORK_DIR)
    if not root.is_dir():
        return
    for entry in root.iterdir():
        job_id = _as_uuid(entry.name)
        if job_id is None or not entry.is_dir():
            if _age(entry, now) > WORK_DIR_MAX_AGE_SECONDS and _remove(entry, report):
                report.work_dirs_deleted += 1
            continue
        job = GenerationJob.objects.filter(id=job_id).values("status", "run_token").first()
        if job is None or job["status"] in ENDED_STATUSES or _age(entry, now) > WORK_DIR_MAX_AGE_SECONDS:
            if _remove(entry, report):
                report.work_dirs_deleted += 1
            continue
        for run_dir in entry.iterdir():
            # A run the reaper replaced: its worker is gone or will stop at its next heartbeat.
            if run_dir.name != job["run_token"] and _age(run_dir, now) > settings.PAKSA_STALE_AFTER_SECONDS:
                if _remove(run_dir, report):
                    report.work_dirs_deleted += 1


def _as_uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


def _age(path: Path, now: float) -> float:
    try:
        return now - path.lstat().st_mtime
    except FileNotFoundError:
        return 0.0


def _unlink(path: Path, report: RetentionReport) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        report.errors.append(f"{path}: {exc}")
        return False


def _remove(path: Path, report: RetentionReport) -> bool:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            report.errors.append(f"{path}: could not be removed")
            return False
        return True
    return _unlink(path, report)
