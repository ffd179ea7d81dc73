from django.contrib import admin, messages
from django.utils.html import format_html

from generation import services
from generation.models import GenerationJob
from paksatalker_site.errors import ApplicationError


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress_pct", "engine", "duration", "created_at", "short_error")
    list_filter = ("status", "engine", "kind")
    search_fields = ("id",)
    ordering = ("-created_at",)
    readonly_fields = (
        "id", "kind", "status", "progress", "stage", "params", "text", "image", "audio", "background_image", "output",
        "engine", "fallback_reasons", "tts_provider", "expression", "error", "timings", "audio_duration", "attempts",
        "created_at", "started_at", "finished_at", "heartbeat_at",
    )
    exclude = ("run_token", "idempotency_key", "request_fingerprint", "captions_vtt", "captions_srt", "notes")
    actions = ("retry_jobs", "cancel_jobs")

    def get_search_results(self, request, queryset, search_term):
        # Searching a UUID field with icontains fails on some databases; match exact or prefix text.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(id__startswith=term) if len(term) < 36 else queryset.filter(id=term), False

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

    @admin.action(description="Retry selected failed or cancelled jobs")
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, services.job_retry, "re-queued")

    @admin.action(description="Cancel selected running jobs")
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset, services.job_cancel, "cancelled")

    def _each(self, request, queryset, service, verb):
        done = 0
        for job in queryset:
            try:
                service(job_id=str(job.id))
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{job.id}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} job(s) {verb}.", messages.SUCCESS)
