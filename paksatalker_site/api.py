"""The one NinjaAPI, mounted at /api/v1, and its error handlers."""

from __future__ import annotations

import logging

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from generation.pipeline.errors import PipelineError
from paksatalker_site.errors import ApplicationError
from paksatalker_site.responses import DJANGO_FORM_ERRORS, application_error_response, error_response, form_error_response

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="PaksaTalker API",
    version="1",
    description="Portrait photo + speech -> lip-synced talking-head MP4 on ordinary CPUs.",
    urls_namespace="api-v1",
)


@api.exception_handler(ApplicationError)
@api.exception_handler(PipelineError)
def _application_error(request, exc):
    return application_error_response(exc)


def _form_error(request, exc):
    return form_error_response(exc)


# Forms are normally parsed before the view (paksatalker_site/gate.py); with turns off, here.
for _error in DJANGO_FORM_ERRORS:
    api.add_exception_handler(_error, _form_error)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(422, format_validation_errors(exc.errors))


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(401, "A valid API key is required (X-API-Key or Authorization: Bearer).")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(404, str(exc) or "Not found.")


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return error_response(500)


def format_validation_errors(errors: list[dict]) -> str:
    """Ninja/pydantic errors as one readable sentence: 'fps: must be <= 60; voice: field required'."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "form", "query", "path", "file", "payload")]
        field = ".".join(loc) or "request"
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "Validation failed."


def _mount_routers() -> None:
    from expressions.api import router as expressions_router
    from generation.api import router as generation_router
    from voices.api import router as voices_router

    api.add_router("", generation_router)
    api.add_router("", voices_router)
    api.add_router("", expressions_router)


_mount_routers()
