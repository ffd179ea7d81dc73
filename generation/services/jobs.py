"""Writes on GenerationJob: create, claim, progress, finish, cancel, retry, reap."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from generation.models import GenerationJob, JobKind, JobStatus
from generation.selectors import jobs_queued_count
from paksatalker_site.errors import USER_ERRORS, BadRequest, JobCancelled, NotFound, ServiceUnavailable

logger = logging.getLogger(__name__)


class JobSuperseded(JobCancelled):
    """This worker's claim was taken over (the reaper re-queued the job)."""


def _enqueue(job_id: str, *, delay: float = 0) -> None:
    from generation.tasks import job_render_task

    if delay:
        job_render_task.schedule((job_id,), delay=delay)
    else:
        job_render_task(job_id)


def job_create(
    *,
    kind: str,
    params: dict,
    text: str = "",
    image: UploadedFile | None = None,
    image_ext: str = "png",
    audio: UploadedFile | None = None,
    audio_ext: str = "wav",
    background_image: UploadedFile | None = None,
    background_ext: str = "png",
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> GenerationJob:
    """Store the validated inputs, create the job and enqueue it after commit.

    The files are written before the row, outside any transaction: with SQLite a write
    transaction locks the whole database, and copying uploads inside it would make
    every other submission and progress write wait. A row that cannot be created
    (a raced Idempotency-Key) takes its files with it.
    """
    if kind not in JobKind.values:
        raise BadRequest(f"Unknown job kind {kind!r}.")
    queued = jobs_queued_count()
    if queued >= settings.PAKSA_MAX_QUEUED_JOBS:
        raise ServiceUnavailable(f"{queued} jobs are already waiting; try again shortly.", retry_after=30)
    job = GenerationJob(kind=kind, params=params, text=text, idempotency_key=idempotency_key or None, request_fingerprint=fingerprint)
    # Generated names only: the client's file name never reaches storage.
    stored = []
    for field_name, upload, name in (("image", image, f"image.{image_ext}"), ("audio", audio, f"audio.{audio_ext}"),
                                     ("background_image", background_image, f"background.{background_ext}")):
        if upload is not None:
            getattr(job, field_name).save(name, upload, save=False)
            stored.append(getattr(job, field_name))
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction: a refused row leaves it usable
            job.save(force_insert=True)
    except Exception:
        _delete_files(stored)
        raise
    job_id = str(job.id)
    transaction.on_commit(lambda: _enqueue(job_id))
    logger.info("job %s created (%s)", job_id, kind)
    return job


def _delete_files(fields) -> None:
    """Delete stored files, and on local storage the job's folder once it is empty."""
    from django.core.files.storage import FileSystemStorage

    for field in fields:
        field.storage.delete(field.name)
        if isinstance(field.storage, FileSystemStorage):
            try:
                Path(field.storage.path(field.name)).parent.rmdir()
            except OSError:  # not empty yet, or already gone
                pass


def request_fingerprint(fields: dict, files: dict[str, UploadedFile | None]) -> str:
    """A hash of a request's fields and file contents, for Idempotency-Key checks."""
    digest = hashlib.sha256()
    for key in sorted(fields):
        digest.update(f"{key}={fields[key]!r};".encode())
    for key in sorted(files):
        upload = files[key]
        digest.update(f"{key}:".encode())
        if upload is not None:
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def job_claim(*, job_id: str) -> str | None:
    """Mark the job as started by this worker; returns the run token, or None if
    the job ended, was cancelled, or another live worker holds it."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PAKSA_STALE_AFTER_SECONDS)
    token = uuid.uuid4().hex
    with transaction.atomic():
        claimed = (
            GenerationJob.objects.filter(id=job_id, status=JobStatus.PROCESSING)
            .filter(_unclaimed_or_stale(stale_before))
            .update(run_token=token, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1,
                    stage="Starting", finished_at=None)
        )
    return token if claimed else None


def _unclaimed_or_stale(stale_before):
    from django.db.models import Q

    return Q(run_token="") | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before)


def job_progress_update(*, job_id: str, token: str, progress: float, stage: str) -> None:
    """Record progress (never backwards) and a heartbeat; raise JobCancelled when
    the user cancelled, JobSuperseded when another worker took the job over."""
    updated = GenerationJob.objects.filter(id=job_id, run_token=token, status=JobStatus.PROCESSING).update(
        progress=Greatest(F("progress"), min(99.0, float(progress))), stage=stage[:200], heartbeat_at=timezone.now()
    )
    if updated:
        return
    current = GenerationJob.objects.filter(id=job_id).values("status", "run_token").first()
    if current is None or current["status"] == JobStatus.CANCELLED:
        raise JobCancelled()
    raise JobSuperseded("Another worker took this job over.")


def job_complete(*, job_id: str, token: str, output: Path, result_fields: dict, extra_files: dict[str, Path] | None = None) -> GenerationJob:
    """Store the MP4 (and captions) and mark the job completed, unless it was cancelled meanwhile."""
    job = GenerationJob.objects.get(id=job_id)
    if job.run_token != token or job.status != JobStatus.PROCESSING:
        raise JobSuperseded("The job changed while rendering; its result is discarded.")
    _store_output(job, "output", output, f"{job.id}.mp4")
    for field_name, path in (extra_files or {}).items():
        _store_output(job, field_name, path, f"{job.id}{path.suffix}")
    for key, value in result_fields.items():
        setattr(job, key, value)
    job.status = JobStatus.COMPLETED
    job.progress = 100.0
    job.stage = "Done"
    job.finished_at = timezone.now()
    job.error = ""
    job.save()
    logger.info("job %s completed with engine %s", job_id, job.engine)
    return job


def _store_output(job: GenerationJob, field_name: str, path: Path, name: str) -> None:
    """Save into storage under a temporary name first, then give it its real name.

    Local storage: a rename in the same directory is atomic, so nobody ever sees a
    half-written MP4. S3: an upload only becomes visible once complete.
    """
    from django.core.files.storage import FileSystemStorage, default_storage

    target = f"outputs/{name}"
    if isinstance(default_storage, FileSystemStorage):
        final = Path(default_storage.path(target))
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
        with path.open("rb") as src, partial.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        partial.replace(final)
        getattr(job, field_name).name = target
        return
    if default_storage.exists(target):
        default_storage.delete(target)
    with path.open("rb") as src:
        stored = default_storage.save(target, File(src, name=name))
    getattr(job, field_name).name = stored


def job_fail(*, job_id: str, token: str | None, error: str, result_fields: dict | None = None) -> None:
    filters = {"id": job_id, "status": JobStatus.PROCESSING}
    if token is not None:
        filters["run_token"] = token
    fields = {"status": JobStatus.FAILED, "error": error[:2000], "stage": "Failed", "finished_at": timezone.now()}
    fields.update(result_fields or {})
    if GenerationJob.objects.filter(**filters).update(**fields):
        logger.warning("job %s failed: %s", job_id, error)


def job_cancel(*, job_id: str) -> GenerationJob:
    """Cancel a queued or running job; a running render notices within a second."""
    with transaction.atomic():
        job = _locked(job_id)
        if job.status == JobStatus.PROCESSING:
            job.status = JobStatus.CANCELLED
            job.stage = "Cancelled"
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "stage", "finished_at", "updated_at"])
            logger.info("job %s cancelled", job_id)
        elif job.status != JobStatus.CANCELLED:
            raise BadRequest(f"The job has already ended ({job.status}); only a processing job can be cancelled.")
    return job


def job_mark_cancelled(*, job_id: str) -> None:
    """After a render stopped on JobCancelled: make sure the row says so."""
    GenerationJob.objects.filter(id=job_id, status=JobStatus.PROCESSING).update(
        status=JobStatus.CANCELLED, stage="Cancelled", finished_at=timezone.now()
    )


def job_retry(*, job_id: str) -> GenerationJob:
    """Run a failed or cancelled job again (operators, from the admin)."""
    with transaction.atomic():
        job = _locked(job_id)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise BadRequest(f"Only failed or cancelled jobs can be retried; this one is {job.status}.")
        job.status = JobStatus.PROCESSING
        # progress is left where it was: the contract says it never goes backwards.
        job.stage = "Queued (retry)"
        job.error = ""
        job.run_token = ""
        job.started_at = job.finished_at = job.heartbeat_at = None
        job.fallback_reasons = []
        job.save()
        job_id_str = str(job.id)
        transaction.on_commit(lambda: _enqueue(job_id_str))
    return job


QUEUED_TOO_LONG = timedelta(minutes=10)


def jobs_reap_stale() -> dict[str, int]:
    """Re-queue (with backoff) or fail running jobs whose worker stopped sending heartbeats,
    and re-enqueue queued jobs whose task was lost before any worker claimed it."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PAKSA_STALE_AFTER_SECONDS)
    requeued = failed = 0
    # A task lost between enqueue and claim (a worker died after dequeuing it, or the
    # broker was down at enqueue time). A duplicate enqueue is harmless: claims are atomic.
    forgotten = GenerationJob.objects.filter(status=JobStatus.PROCESSING, started_at__isnull=True, updated_at__lt=now - QUEUED_TOO_LONG)
    for job_id in forgotten.values_list("id", flat=True):
        GenerationJob.objects.filter(id=job_id).update(updated_at=now)
        _enqueue(str(job_id))
        requeued += 1
    stale = GenerationJob.objects.filter(status=JobStatus.PROCESSING, started_at__isnull=False, heartbeat_at__lt=stale_before)
    for job in stale:
        if job.attempts >= settings.PAKSA_MAX_ATTEMPTS:
            job_fail(job_id=str(job.id), token=job.run_token,
                     error=f"The worker stopped responding {job.attempts} times; giving up.")
            failed += 1
            continue
        updated = GenerationJob.objects.filter(id=job.id, run_token=job.run_token, status=JobStatus.PROCESSING).update(
            run_token="", started_at=None, heartbeat_at=None, stage=f"Queued (retry {job.attempts + 1} after a worker stopped)"
        )
        if updated:
            delay = min(300, 5 * 2 ** max(0, job.attempts - 1))
            _enqueue(str(job.id), delay=delay)
            requeued += 1
            logger.warning("job %s: worker lost, re-queued in %s s", job.id, delay)
    return {"requeued": requeued, "failed": failed}


@transaction.atomic
def job_delete(*, job_id: str) -> None:
    """Delete a job together with its files."""
    job = _locked(job_id)
    fields = [getattr(job, name) for name in ("image", "audio", "background_image", "output", "captions_vtt", "captions_srt")]
    _delete_files([field for field in fields if field.name])
    job.delete()


def _locked(job_id: str) -> GenerationJob:
    try:
        return GenerationJob.objects.select_for_update().get(id=job_id)
    except (GenerationJob.DoesNotExist, ValueError, *USER_ERRORS):
        raise NotFound(f"No task with id {job_id}.") from None
