"""Middleware that keeps every error on every path in the one JSON shape."""

from __future__ import annotations

import json
import logging

from django.conf import settings

from paksatalker_site.errors import USER_ERRORS
from paksatalker_site.responses import REASONS, application_error_response, error_response

logger = logging.getLogger(__name__)

# Admin pages are HTML for people; their own error pages (e.g. a CSRF failure
# shown to a logged-in operator) stay readable there.
HTML_PREFIXES = ("/admin/",)


class JsonErrorMiddleware:
    """Turns any non-JSON error response (405 from a view, 404 from the resolver,
    400 from Django's own checks) and any unhandled exception into the JSON shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(HTML_PREFIXES):
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") and _has_error_shape(response):
            return response
        detail = REASONS.get(response.status_code, "Error.")
        if response.status_code == 405 and response.get("Allow"):
            detail = f"Method {request.method} is not allowed here; use {response['Allow']}."
        elif response.status_code == 404:
            detail = f"Nothing is at {request.path}."
        replacement = error_response(response.status_code, detail)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.get(header):
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request, exception):
        if isinstance(exception, USER_ERRORS):
            return application_error_response(exception)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)


def _has_error_shape(response) -> bool:
    if getattr(response, "streaming", False):
        return True
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("success") is False and "detail" in body


class RequestSizeLimitMiddleware:
    """Rejects a body over the limit from its Content-Length, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Content-Length is not a number.")
        limit = settings.PAKSA_MAX_REQUEST_BYTES
        if length > limit:
            return error_response(413, f"The request body is {length / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")
        return self.get_response(request)
