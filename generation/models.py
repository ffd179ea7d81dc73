from __future__ import annotations

import uuid

from django.db import models


class JobStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobKind(models.TextChoices):
    FUSION = "fusion", "Fusion video"
    PROMPT = "prompt", "Video from prompt"


ENDED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


def _input_path(instance: GenerationJob, filename: str) -> str:
    # Stored names are generated; the client's name never reaches the disk.
    return f"inputs/{instance.id}/{filename}"


def _output_path(instance: GenerationJob, filename: str) -> str:
    return f"outputs/{filename}"


class GenerationJob(models.Model):
    """One talking-head render: the durable record behind a ``task_id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=JobKind.choices, default=JobKind.FUSION)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PROCESSING, db_index=True)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, default="Queued")
    params = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True, default="")

    image = models.FileField(upload_to=_input_path, max_length=300, blank=True)
    audio = models.FileField(upload_to=_input_path, max_length=300, blank=True)
    background_image = models.FileField(upload_to=_input_path, max_length=300, blank=True)
    output = models.FileField(upload_to=_output_path, max_length=300, blank=True)
    captions_vtt = models.FileField(upload_to=_output_path, max_length=300, blank=True)
    captions_srt = models.FileField(upload_to=_output_path, max_length=300, blank=True)

    engine = models.CharField(max_length=32, blank=True, default="", db_index=True)
    fallback_reasons = models.JSONField(default=list, blank=True)
    tts_provider = models.CharField(max_length=32, blank=True, default="")
    expression = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    timings = models.JSONField(default=dict, blank=True)
    audio_duration = models.FloatField(null=True, blank=True)
    notes = models.JSONField(default=list, blank=True)
    # How the mouth was timed: method (tts-events, align-dtw, allphone...), language, notes.
    lip_sync = models.JSONField(default=dict, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    # Set when a worker claims the job; progress writes carry it, so a worker the
    # reaper gave up on cannot overwrite the run that replaced it.
    run_token = models.CharField(max_length=32, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"]),
            # Backpressure counts the queued jobs (processing, not started) on every submission.
            models.Index(fields=["status", "started_at"], name="generation_queued_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_ended(self) -> bool:
        return self.status in ENDED_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
