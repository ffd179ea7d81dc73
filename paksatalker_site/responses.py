"""The one error shape: {"success": false, "detail": "..."}."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

from paksatalker_site.errors import USER_ERRORS, status_of

logger = logging.getLogger(__name__)

REASONS = {
    400: "Bad request.",
    401: "Authentication is required.",
    403: "Forbidden.",
    404: "Not found.",
    405: "Method not allowed.",
    408: "Request timeout.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "Validation failed.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "An upstream service failed.",
    503: "The service is unavailable; try again later.",
}


def error_response(status: int, detail: str | None = None, *, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"success": False, "detail": detail or REASONS.get(status, "Error.")}, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def application_error_response(exc: Exception) -> JsonResponse:
    """Any of USER_ERRORS (ours or the pipeline's) in the one error shape, with its status."""
    status = status_of(exc)
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    if status >= 500 and status != 503:  # a full queue is load, not a fault
        logger.error("%s: %s", type(exc).__name__, exc.detail)
    return error_response(status, exc.detail, headers=headers)


# What Django's multipart parser raises on a body it refuses. A file over its field's limit
# is a PayloadTooLarge from the upload handler (paksatalker_site/uploads.py).
DJANGO_FORM_ERRORS = (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def form_error_response(exc: Exception) -> JsonResponse:
    """A form body the parser refused: a file over its limit, a broken multipart body, too many fields."""
    if isinstance(exc, USER_ERRORS):
        return application_error_response(exc)
    if isinstance(exc, MultiPartParserError):
        return error_response(400, f"The multipart body could not be parsed: {exc}")
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, f"The form's text fields are over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1 << 20)} MB in all.")
    return error_response(400, str(exc))  # too many fields or files
