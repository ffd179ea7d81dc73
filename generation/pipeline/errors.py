"""The pipeline's own errors.

Everything the pipeline raises on purpose derives from ``PipelineError`` and
carries a ``detail`` fit to show a user. The pipeline knows nothing of HTTP:
``paksatalker_site.errors`` decides which status each class answers with.
"""

from __future__ import annotations


class PipelineError(Exception):
    default_detail = "The render failed."

    def __init__(self, detail: str | None = None, *, extra: dict | None = None):
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)

    def __reduce__(self):
        # Whole across processes (the render command's speech process): ``extra`` and
        # subclasses' fields such as ``MediaError.stderr`` travel with the detail.
        return self.__class__, (self.detail,), self.__dict__


class InvalidInput(PipelineError):
    """The request cannot be rendered as given (no image, audio too short, ...)."""

    default_detail = "The input cannot be used."


class InvalidOption(PipelineError):
    """An option's value is outside what the stage accepts; ``extra`` may list the valid ones."""

    default_detail = "An option is invalid."


class UnsupportedInput(PipelineError):
    """A file is of a kind the stage cannot read."""

    default_detail = "The file's format is not supported."


class MediaError(InvalidInput):
    """ffmpeg/ffprobe could not read or write a file; ``stderr`` keeps the tool's words."""

    default_detail = "The media file could not be processed."

    def __init__(self, detail: str | None = None, *, stderr: str = ""):
        super().__init__(detail)
        self.stderr = stderr


class NoFaceError(InvalidOption):
    default_detail = "No face was found in the image."


class EngineUnavailable(PipelineError):
    """An engine or model cannot run here (missing weights, checkout, ...)."""

    default_detail = "The requested engine is not available."


class EngineFailed(PipelineError):
    """An engine ran and failed; the chain falls through to the next one."""

    default_detail = "The engine failed."


class JobCancelled(PipelineError):
    """Raised through the progress callback when a user cancels a job."""

    default_detail = "The job was cancelled."
