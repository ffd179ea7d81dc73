"""API access control for /api/v1: optional API keys and rate limits.

- API keys: ``PAKSA_API_KEYS`` (comma list). When set, every /api/v1 route except
  ``PAKSA_PUBLIC_API_PATHS`` (capabilities and the OpenAPI docs) needs
  ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``: missing -> 401, wrong -> 403.
  Checked by Ninja's ``auth=`` (``API_AUTH`` on the NinjaAPI), so the docs show the two
  schemes, before a form body is read.
- Rate limits: fixed one-minute windows in Django's cache (Redis when REDIS_URL is set, so
  they hold across web nodes), per valid API key when one is sent, per client IP otherwise.
  Writes (POST/PUT/PATCH/DELETE) and reads (GET/HEAD) have separate buckets, so submissions
  can never starve status polling or event streams.

CORS is django-cors-headers' middleware, configured in paksatalker_site/cors.py.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from ninja.security import APIKeyHeader, HttpBearer

from paksatalker_site.errors import Forbidden
from paksatalker_site.responses import error_response

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WINDOW_SECONDS = 60
MISSING_KEY_DETAIL = "An API key is required: send X-API-Key: <key> or Authorization: Bearer <key>."
MISSING_KEY_HEADERS = {"WWW-Authenticate": 'Bearer realm="paksatalker"'}


# --- API keys -------------------------------------------------------------------

def configured_keys() -> tuple[str, ...]:
    # Read per request: tests and operators may change settings at run time.
    return tuple(k for k in getattr(settings, "PAKSA_API_KEYS", ()) if k)


def key_is_valid(key: str, keys: tuple[str, ...]) -> bool:
    # Compare against every key in constant time, so timing reveals neither which
    # key nor how much of one matched.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def is_public(path: str) -> bool:
    """A route of PAKSA_PUBLIC_API_PATHS ("/capabilities"; a trailing / means a prefix)."""
    if not path.startswith(API_PREFIX):
        return False
    rest = path[len(API_PREFIX) - 1:]  # keeps the leading slash: "/capabilities"
    return any(rest == p or (p.endswith("/") and rest.startswith(p))
               for p in getattr(settings, "PAKSA_PUBLIC_API_PATHS", ()))


def key_check(request: HttpRequest, key: str | None):
    """Ninja's auth answer: truthy lets the request in, None means no key was sent (401);
    a key that is not one of the configured ones is a 403."""
    keys = configured_keys()
    if not keys or is_public(request.path):
        return "open"
    key = (key or "").strip()
    if not key:
        return None
    if not key_is_valid(key, keys):
        raise Forbidden("The API key is not valid.")
    return "key"


class ApiKeyHeader(APIKeyHeader):
    """``X-API-Key: <key>``."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        return key_check(request, key)


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer <key>``."""

    def authenticate(self, request, token):
        return key_check(request, token)


# Ninja tries these in order: either header carries the key.
API_AUTH = [ApiKeyHeader(), ApiKeyBearer()]


def api_key_from_request(request: HttpRequest) -> str | None:
    key = request.headers.get("X-API-Key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


# --- Rate limits ----------------------------------------------------------------

class RateLimitMiddleware:
    """Fixed-window rate limits for /api/v1 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refused = rate_limit_check(request)
            if refused is not None:
                return refused
        return self.get_response(request)


def rate_limit_check(request: HttpRequest) -> HttpResponse | None:
    write = request.method in WRITE_METHODS
    limit = int(getattr(settings, "PAKSA_RATE_LIMIT_PER_MINUTE" if write else "PAKSA_READ_RATE_LIMIT_PER_MINUTE", 0))
    if limit <= 0:
        return None
    key = api_key_from_request(request)
    # Only a valid key buys its own bucket: guessing keys never escapes the IP's limit.
    if key is not None and key_is_valid(key, configured_keys()):
        identity = f"key:{_digest(key)}"
    else:
        identity = f"ip:{client_ip(request, int(getattr(settings, 'PAKSA_PROXY_COUNT', 0)))}"
    cache_alias = getattr(settings, "PAKSA_RATE_LIMIT_CACHE", "default")
    retry_after = rate_limit_hit(cache_alias, "w" if write else "r", identity, limit)
    if retry_after is None:
        return None
    kind = "submissions and other writes" if write else "reads"
    return error_response(429, f"Rate limit reached: {limit} {kind} per minute. Try again in {retry_after} s.",
                          headers={"Retry-After": str(retry_after)})


def client_ip(request: HttpRequest, proxy_count: int) -> str:
    """REMOTE_ADDR, or, behind ``proxy_count`` trusted proxies, the address the
    outermost of them saw (entries further left are client-supplied and unsafe)."""
    if proxy_count > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxy_count:
            return forwarded[-proxy_count]
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limit_hit(cache_alias: str, bucket: str, identity: str, limit: int, *, now: float | None = None) -> int | None:
    """Count one request in the current window; the seconds to wait when over the limit, else None.

    A cache outage fails open (logged): losing rate limiting is better than losing the API.
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    cache_key = f"paksa:rl:{bucket}:{identity}:{window}"
    cache = caches[cache_alias]
    try:
        cache.add(cache_key, 0, timeout=WINDOW_SECONDS + 5)
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    except Exception:  # noqa: BLE001 - Redis down, etc.
        logger.warning("rate limiter: cache unavailable, request let through", exc_info=True)
        return None
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _digest(key: str) -> str:
    # Keys never go into cache keys (or Redis) in clear.
    return hashlib.sha256(key.encode()).hexdigest()[:24]
