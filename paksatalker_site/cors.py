"""django-cors-headers' settings for /api/v1, from PAKSA_CORS_ORIGINS and
PAKSA_CORS_ALLOW_CREDENTIALS. Imported by settings.py, so it imports nothing that reads settings."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

# What the API's callers may send and read across origins.
CORS_ALLOW_METHODS = ("GET", "HEAD", "POST", "DELETE", "OPTIONS")
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key", "range", "x-api-key", "last-event-id")
CORS_EXPOSE_HEADERS = ("Retry-After", "Content-Range", "Content-Length", "Accept-Ranges", "Content-Disposition")


def cors_settings(origins: list[str] | tuple[str, ...], credentials: bool) -> dict:
    """The CORS_* settings for a list of origins (or ``*``); ``*`` never goes with credentials,
    which would let every site read a signed-in user's answers."""
    origins = tuple(o.strip().rstrip("/") for o in origins if o.strip())
    allow_all = "*" in origins
    if allow_all and credentials:
        raise ImproperlyConfigured("PAKSA_CORS_ORIGINS=* cannot be combined with PAKSA_CORS_ALLOW_CREDENTIALS.")
    return {
        "CORS_ALLOW_ALL_ORIGINS": allow_all,
        "CORS_ALLOWED_ORIGINS": [] if allow_all else list(origins),
        "CORS_ALLOW_CREDENTIALS": credentials,
        "CORS_URLS_REGEX": r"^/api/v1/",
        "CORS_ALLOW_METHODS": CORS_ALLOW_METHODS,
        "CORS_ALLOW_HEADERS": CORS_ALLOW_HEADERS,
        "CORS_EXPOSE_HEADERS": CORS_EXPOSE_HEADERS,
        "CORS_PREFLIGHT_MAX_AGE": 600,
    }
