"""The one error hierarchy of PaksaTalker.

Django-free on purpose: the pipeline, the TTS providers and the expression
engines raise these, and the API handlers turn any of them into
``{"success": false, "detail": ...}`` with the status the class carries.
"""

from __future__ import annotations


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


# --- Domain errors raised below the API (pipeline, TTS, engines) ---


class MediaError(BadRequest):
    """ffmpeg/ffprobe could not read or write a file; ``stderr`` keeps the tool's words."""

    default_detail = "The media file could not be processed."

    def __init__(self, detail: str | None = None, *, stderr: str = ""):
        super().__init__(detail)
        self.stderr = stderr


class NoFaceError(ValidationFailed):
    default_detail = "No face was found in the image."


class TTSError(ApplicationError):
    status_code = 502
    default_detail = "Speech synthesis failed."


class EngineUnavailable(ApplicationError):
    """An engine cannot run here (missing weights, checkout, ...)."""

    status_code = 400
    default_detail = "The requested engine is not available."


class EngineFailed(ApplicationError):
    """An engine ran and failed; the chain falls through to the next one."""

    default_detail = "The engine failed."


class JobCancelled(ApplicationError):
    """Raised through the progress callback when a user cancels a job."""

    status_code = 409
    default_detail = "The job was cancelled."
