"""The one error hierarchy of PaksaTalker.

Django-free on purpose: the TTS providers and the expression engines raise
these. The pipeline raises its own (``generation.pipeline.errors``), and
``status_of`` maps those to a status here. The API handlers turn any of them
into ``{"success": false, "detail": ...}``.
"""

from __future__ import annotations

from generation.pipeline import errors as pipeline


class ApplicationError(Exception):
    """Base of every error a user can trigger; ``detail`` is shown to them."""

    status_code = 500
    default_detail = "Internal server error."

    def __init__(self, detail: str | None = None, *, extra: dict | None = None):
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)


class BadRequest(ApplicationError):
    status_code = 400
    default_detail = "Bad request."


class Unauthorized(ApplicationError):
    status_code = 401
    default_detail = "An API key is required."


class Forbidden(ApplicationError):
    status_code = 403
    default_detail = "This API key is not allowed."


class NotFound(ApplicationError):
    status_code = 404
    default_detail = "Not found."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    default_detail = "The request body is too large."


class UnsupportedMediaType(ApplicationError):
    status_code = 415
    default_detail = "Unsupported media type."


class ValidationFailed(ApplicationError):
    status_code = 422
    default_detail = "Validation failed."


class RateLimited(ApplicationError):
    status_code = 429
    default_detail = "Too many requests."

    def __init__(self, detail: str | None = None, *, retry_after: int = 1):
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(ApplicationError):
    status_code = 503
    default_detail = "The service is busy; try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5):
        super().__init__(detail)
        self.retry_after = retry_after


class TTSError(ApplicationError):
    status_code = 502
    default_detail = "Speech synthesis failed."


# --- The pipeline's errors: raised below the API, their status decided here ---

MediaError = pipeline.MediaError
NoFaceError = pipeline.NoFaceError
EngineUnavailable = pipeline.EngineUnavailable
EngineFailed = pipeline.EngineFailed
JobCancelled = pipeline.JobCancelled

# status_of walks the MRO, so a class's own entry wins over its bases'.
PIPELINE_STATUS: dict[type[pipeline.PipelineError], int] = {
    pipeline.JobCancelled: 409,
    pipeline.NoFaceError: 422,
    pipeline.InvalidOption: 422,
    pipeline.UnsupportedInput: 415,
    pipeline.MediaError: 400,
    pipeline.InvalidInput: 400,
    pipeline.EngineUnavailable: 400,
    pipeline.EngineFailed: 500,
}

# Every error a user can trigger: what services, commands and the admin catch and show.
USER_ERRORS = (ApplicationError, pipeline.PipelineError)


def status_of(exc: Exception) -> int:
    """The HTTP status an error answers with: its own, the pipeline table's, or 500."""
    if isinstance(exc, ApplicationError):
        return exc.status_code
    for cls in type(exc).__mro__:
        if cls in PIPELINE_STATUS:
            return PIPELINE_STATUS[cls]
    return 500
