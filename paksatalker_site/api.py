"""The one NinjaAPI, mounted at /api/v1, its API-key auth and its error handlers."""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError

from generation.pipeline.errors import PipelineError
from paksatalker_site.errors import USER_ERRORS, ApplicationError
from paksatalker_site.responses import DJANGO_FORM_ERRORS, application_error_response, error_response, form_error_response
from paksatalker_site.security import API_AUTH, MISSING_KEY_DETAIL, MISSING_KEY_HEADERS, is_public

logger = logging.getLogger(__name__)


def _docs_guard(view):
    """/openapi.json and /docs take the same key as the routes unless PAKSA_PUBLIC_API_PATHS
    lists them (it does by default: the schema holds no data, and clients need it)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        for auth in API_AUTH:
            try:
                if auth(request):
                    return view(request, *args, **kwargs)
            except USER_ERRORS as exc:
                return application_error_response(exc)
        return error_response(401, MISSING_KEY_DETAIL, headers=MISSING_KEY_HEADERS)

    return guarded


class PaksaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The schema marks an operation as needing a key only when keys are configured
        and the route is not public."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        keyed = bool(getattr(settings, "PAKSA_API_KEYS", ()))
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if isinstance(operation, dict) and (not keyed or is_public(path)):
                    operation.pop("security", None)
        return schema


api = PaksaAPI(
    title="PaksaTalker API",
    version="1",
    description="Portrait photo + speech -> lip-synced talking-head MP4 on ordinary CPUs.",
    urls_namespace="api-v1",
    auth=API_AUTH,
    docs_decorator=_docs_guard,
)


@api.exception_handler(ApplicationError)
@api.exception_handler(PipelineError)
def _application_error(request, exc):
    return application_error_response(exc)


def _form_error(request, exc):
    return form_error_response(exc)


# Django's multipart parser runs when a view's Form/File parameters are read.
for _error in DJANGO_FORM_ERRORS:
    api.add_exception_handler(_error, _form_error)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(422, format_validation_errors(exc.errors))


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(401, MISSING_KEY_DETAIL, headers=MISSING_KEY_HEADERS)


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


# Mounted last: a path no route matches still needs a key, so strangers get no route map.
unmatched_router = Router()


@unmatched_router.api_operation(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unmatched(request, rest: str):
    return error_response(404, f"Nothing is at {request.path}.")


def _mount_routers() -> None:
    from expressions.api import router as expressions_router
    from generation.api import router as generation_router
    from voices.api import router as voices_router

    api.add_router("", generation_router)
    api.add_router("", voices_router)
    api.add_router("", expressions_router)
    api.add_router("", unmatched_router)


_mount_routers()
