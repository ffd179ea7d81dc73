"""Reads: jobs, their status, their files, and what this server can run."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from django.db import connection
from django.utils import timezone

from generation.models import GenerationJob, JobStatus
from paksatalker_site.errors import NotFound

DOWNLOAD_NAME = re.compile(r"^(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?P<ext>mp4|vtt|srt)$")
DOWNLOAD_FIELDS = {"mp4": "output", "vtt": "captions_vtt", "srt": "captions_srt"}


def job_get(*, job_id: str) -> GenerationJob:
    try:
        parsed = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound(f"No task with id {job_id}.") from None
    job = GenerationJob.objects.filter(id=parsed).first()
    if job is None:
        raise NotFound(f"No task with id {job_id}.")
    return job


def jobs_queued_count(*, created_before: datetime | None = None) -> int:
    """Jobs waiting for a worker (processing, not started), optionally only those created earlier.

    Raw SQL on purpose: backpressure asks on every submission and the queue position on every
    status poll, and compiling the ORM's aggregate costs several times the query, which the
    (status, started_at) index answers.
    """
    table = connection.ops.quote_name(GenerationJob._meta.db_table)
    sql = f"SELECT COUNT(*) FROM {table} WHERE status = %s AND started_at IS NULL"
    params: list = [JobStatus.PROCESSING]
    if created_before is not None:
        sql += " AND created_at < %s"
        params.append(connection.ops.adapt_datetimefield_value(created_before))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def job_queue_position(job: GenerationJob) -> int | None:
    """1 = next to start. None once it started or ended."""
    if job.status != JobStatus.PROCESSING or job.started_at is not None:
        return None
    return jobs_queued_count(created_before=job.created_at) + 1


def job_eta_seconds(job: GenerationJob) -> float | None:
    if job.status != JobStatus.PROCESSING or job.started_at is None or job.progress < 5:
        return None
    elapsed = (timezone.now() - job.started_at).total_seconds()
    return round(max(0.0, elapsed * (100.0 - job.progress) / job.progress), 1)


def job_accepted_data(job: GenerationJob) -> dict:
    """The answer to a submission: the task and any fields the endpoint ignored."""
    return {"success": True, "task_id": str(job.id), "status": job.status, "ignored_fields": job.params.get("ignored_fields", [])}


def job_notes(job: GenerationJob) -> list[str]:
    ignored = job.params.get("ignored_fields")
    return ([f"ignored unknown fields: {', '.join(ignored)}"] if ignored else []) + list(job.notes)


def job_status_data(job: GenerationJob) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    captions = {}
    if job.captions_vtt.name:
        captions["vtt_url"] = f"/api/v1/download/{job.id}.vtt"
    if job.captions_srt.name:
        captions["srt_url"] = f"/api/v1/download/{job.id}.srt"
    return {
        "task_id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "progress": int(job.progress),
        "stage": job.stage,
        "video_url": f"/api/v1/download/{job.id}.mp4" if job.status == JobStatus.COMPLETED and job.output.name else None,
        "error": job.error,
        "engine": job.engine,
        "fallback_reasons": job.fallback_reasons,
        "tts_provider": job.tts_provider,
        "queue_position": job_queue_position(job),
        "eta_seconds": job_eta_seconds(job),
        "timings": job.timings,
        "duration": job.audio_duration,
        "attempts": job.attempts,
        "captions": captions,
        "notes": job_notes(job),
        "lip_sync": job.lip_sync,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def job_download_file(*, filename: str):
    """The stored file behind a download name; only files that belong to a task."""
    match = DOWNLOAD_NAME.match(filename or "")
    if match is None:
        raise NotFound(f"No file named {filename!r}.")
    job = GenerationJob.objects.filter(id=match["id"]).first()
    field = getattr(job, DOWNLOAD_FIELDS[match["ext"]], None) if job else None
    if field is None or not field.name or not field.storage.exists(field.name):
        raise NotFound(f"No file named {filename!r}.")
    return field
