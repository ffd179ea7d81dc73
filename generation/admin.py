"""Operators' view of jobs: list, inspect (video, source, parameters, timings), retry, cancel, delete with files."""

from __future__ import annotations

import base64
import json
import logging

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from generation import services
from generation.models import GenerationJob, JobStatus
from paksatalker_site.errors import USER_ERRORS

logger = logging.getLogger(__name__)

# The source thumbnail is inlined as a data: URI (no new public file route), so
# both what is read from storage and what goes into the page are bounded.
THUMBNAIL_MAX_SOURCE_BYTES = 20 * 1024 * 1024
THUMBNAIL_MAX_SIDE = 320


def source_thumbnail_data_uri(field, *, max_side: int = THUMBNAIL_MAX_SIDE) -> str | None:
    """A JPEG data: URI of a stored image, at most ``max_side`` pixels; None if unreadable."""
    import cv2
    import numpy as np

    if not field or not field.name:
        return None
    try:
        if field.storage.size(field.name) > THUMBNAIL_MAX_SOURCE_BYTES:
            return None
        with field.storage.open(field.name, "rb") as handle:
            raw = handle.read(THUMBNAIL_MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        logger.info("thumbnail of %s unavailable: %s", field.name, exc)
        return None
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress_pct", "engine", "duration", "created_at", "short_error")
    list_filter = ("status", "engine", "kind")
    search_fields = ("id",)
    ordering = ("-created_at",)
    list_per_page = 50
    fieldsets = (
        ("Result", {"fields": ("video_player", "status", "progress", "stage", "error", "engine", "fallback_table", "lip_sync", "downloads")}),
        ("Input", {"fields": ("source_preview", "text", "params_pretty", "tts_provider", "audio_duration", "expression_pretty")}),
        ("Timing", {"fields": ("timings_table", "attempts", "created_at", "started_at", "finished_at", "heartbeat_at")}),
        ("Identity", {"fields": ("id", "kind")}),
    )
    readonly_fields = (
        "id", "kind", "status", "progress", "stage", "text", "engine", "lip_sync", "tts_provider", "error", "audio_duration",
        "attempts", "created_at", "started_at", "finished_at", "heartbeat_at",
        "video_player", "source_preview", "params_pretty", "expression_pretty", "timings_table", "fallback_table", "downloads",
    )
    actions = ("retry_jobs", "cancel_jobs")

    def has_add_permission(self, request) -> bool:
        return False  # jobs come from the API, with validated uploads

    def get_search_results(self, request, queryset, search_term):
        # Searching a UUID field with icontains fails on some databases; match exact or prefix text.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(id__startswith=term) if len(term) < 36 else queryset.filter(id=term), False

    # --- list columns ---------------------------------------------------------

    @admin.display(description="progress")
    def progress_pct(self, job):
        return f"{job.progress:.0f}%"

    @admin.display(description="duration")
    def duration(self, job):
        seconds = job.duration_seconds
        return f"{seconds:.1f} s" if seconds is not None else "—"

    @admin.display(description="error")
    def short_error(self, job):
        return format_html("<span title='{}'>{}</span>", job.error, job.error[:80]) if job.error else ""

    # --- change page ----------------------------------------------------------

    @admin.display(description="video")
    def video_player(self, job):
        if job.status != JobStatus.COMPLETED or not job.output.name:
            return "—"
        return format_html(
            '<video controls preload="metadata" src="/api/v1/download/{}.mp4" '
            'style="max-width:480px;width:100%;border-radius:6px;background:#000"></video>', job.id,
        )

    @admin.display(description="downloads")
    def downloads(self, job):
        links = [(f"/api/v1/download/{job.id}.{ext}", label) for ext, label, field in (
            ("mp4", "MP4", job.output), ("vtt", "WebVTT captions", job.captions_vtt), ("srt", "SRT captions", job.captions_srt),
        ) if field.name]
        return format_html_join(" · ", '<a href="{}">{}</a>', links) if links else "—"

    @admin.display(description="source image")
    def source_preview(self, job):
        if not job.image.name:
            return "default avatar" if (job.params or {}).get("default_avatar") else "—"
        uri = source_thumbnail_data_uri(job.image)
        if uri is None:
            return "(not readable as an image)"
        return format_html('<img src="{}" alt="source image of job {}" style="max-width:{}px;border-radius:6px">',
                           uri, job.id, THUMBNAIL_MAX_SIDE)

    @admin.display(description="parameters")
    def params_pretty(self, job):
        return _pretty_json(job.params)

    @admin.display(description="expression")
    def expression_pretty(self, job):
        return _pretty_json(job.expression) if job.expression else "—"

    @admin.display(description="timings per stage")
    def timings_table(self, job):
        timings = job.timings or {}
        if not timings:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td style='text-align:right'>{}</td></tr>",
                                ((stage, _seconds(value)) for stage, value in timings.items()))
        total = sum(v for v in timings.values() if isinstance(v, (int, float)))
        return format_html(
            "<table class='paksa-timings'><thead><tr><th>stage</th><th>seconds</th></tr></thead><tbody>{}</tbody>"
            "<tfoot><tr><th>total</th><th style='text-align:right'>{}</th></tr></tfoot></table>", rows, f"{total:.2f}",
        )

    @admin.display(description="fallback reasons")
    def fallback_table(self, job):
        reasons = job.fallback_reasons or []
        if not reasons:
            return "—"
        rows = format_html_join("", "<li><strong>{}</strong>: {}</li>",
                                ((r.get("engine", "?"), r.get("reason", "")) for r in reasons if isinstance(r, dict)))
        return format_html("<ul style='margin:0;padding-left:1.2em'>{}</ul>", rows)

    # --- actions and deletion -------------------------------------------------

    @admin.action(description="Retry selected failed or cancelled jobs")
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, services.job_retry, "re-queued")  # the service explains a refusal

    @admin.action(description="Cancel selected running jobs")
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset.filter(status=JobStatus.PROCESSING), services.job_cancel, "cancelled")

    def delete_model(self, request, obj):
        services.job_delete(job_id=str(obj.id))

    def delete_queryset(self, request, queryset):
        # Django's "Delete selected" action ends here: go through the service so files go too.
        for job_id in list(queryset.values_list("id", flat=True)):
            try:
                services.job_delete(job_id=str(job_id))
            except USER_ERRORS as exc:
                self.message_user(request, f"{job_id}: {exc.detail}", messages.WARNING)

    def _each(self, request, queryset, service, verb):
        done = 0
        for job in queryset:
            try:
                service(job_id=str(job.id))
                done += 1
            except USER_ERRORS as exc:
                self.message_user(request, f"{job.id}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} job(s) {verb}.", messages.SUCCESS if done else messages.WARNING)


def _pretty_json(value) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html("<pre style='margin:0;white-space:pre-wrap;font-size:12px'>{}</pre>", text)


def _seconds(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else mark_safe("&mdash;")
