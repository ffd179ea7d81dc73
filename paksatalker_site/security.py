"""API access control for /api/v1: CORS, optional API keys and rate limits.

One middleware, outermost in the chain, so that every response it lets through
(errors from inner layers included) carries the CORS headers a browser needs to
read it, and so that a client without a key is turned away before anything reads
its request body.

- CORS: ``PAKSA_CORS_ORIGINS`` (comma list, or ``*``). Preflight ``OPTIONS`` is
  answered here. ``*`` never goes together with credentials.
- API keys: ``PAKSA_API_KEYS`` (comma list). When set, every /api/v1 route except
  ``PAKSA_PUBLIC_API_PATHS`` (capabilities and the OpenAPI docs) needs
  ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``: missing -> 401, wrong -> 403.
- Rate limits: fixed one-minute windows in Django's cache (Redis when REDIS_URL is
  set, so they hold across web nodes), per API key when one is sent, per client IP
  otherwise. Writes (POST/PUT/PATCH/DELETE) and reads (GET/HEAD) have separate
  buckets, so submissions can never starve status polling or event streams.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from paksatalker_site.responses import error_response

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORS_ALLOW_METHODS = "GET, HEAD, POST, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = "Accept, Authorization, Content-Type, Idempotency-Key, Range, X-API-Key, Last-Event-ID"
CORS_EXPOSE_HEADERS = "Retry-After, Content-Range, Content-Length, Accept-Ranges, Content-Disposition"
CORS_MAX_AGE = 600
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class SecurityConfig:
    api_keys: tuple[str, ...]
    public_paths: tuple[str, ...]
    write_limit: int  # requests per minute and identity; 0 = unlimited
    read_limit: int
    cors_origins: tuple[str, ...]
    cors_credentials: bool
    proxy_count: int
    cache_alias: str

    @classmethod
    def from_settings(cls) -> SecurityConfig:
        origins = tuple(o.rstrip("/") for o in getattr(settings, "PAKSA_CORS_ORIGINS", ()))
        credentials = bool(getattr(settings, "PAKSA_CORS_ALLOW_CREDENTIALS", False))
        if "*" in origins and credentials:
            raise ImproperlyConfigured("PAKSA_CORS_ORIGINS=* cannot be combined with PAKSA_CORS_ALLOW_CREDENTIALS.")
        return cls(
            api_keys=tuple(k for k in getattr(settings, "PAKSA_API_KEYS", ()) if k),
            public_paths=tuple(getattr(settings, "PAKSA_PUBLIC_API_PATHS", ())),
            write_limit=int(getattr(settings, "PAKSA_RATE_LIMIT_PER_MINUTE", 0)),
            read_limit=int(getattr(settings, "PAKSA_READ_RATE_LIMIT_PER_MINUTE", 0)),
            cors_origins=origins,
            cors_credentials=credentials,
            proxy_count=int(getattr(settings, "PAKSA_PROXY_COUNT", 0)),
            cache_alias=getattr(settings, "PAKSA_RATE_LIMIT_CACHE", "default"),
        )


class ApiSecurityMiddleware:
    """CORS, API keys and rate limits for /api/v1 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        # Read per request: tests and operators may change settings at run time.
        config = SecurityConfig.from_settings()
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin and request.headers.get("Access-Control-Request-Method"):
            return _preflight(config, origin)
        response = self._guard(request, config)
        if response is None:
            response = self.get_response(request)
        if origin:
            _add_cors_headers(response, config, origin)
        return response

    def _guard(self, request: HttpRequest, config: SecurityConfig) -> HttpResponse | None:
        key = api_key_from_request(request)
        if config.api_keys and not _is_public(request.path, config):
            if key is None:
                return error_response(
                    401, "An API key is required: send X-API-Key: <key> or Authorization: Bearer <key>.",
                    headers={"WWW-Authenticate": 'Bearer realm="paksatalker"'},
                )
            if not key_is_valid(key, config.api_keys):
                return error_response(403, "The API key is not valid.")
        elif key is not None and not key_is_valid(key, config.api_keys):
            key = None  # an unknown key on a public route buys no separate bucket
        write = request.method in WRITE_METHODS
        limit = config.write_limit if write else config.read_limit
        if limit <= 0:
            return None
        identity = f"key:{_digest(key)}" if key else f"ip:{client_ip(request, config.proxy_count)}"
        retry_after = rate_limit_hit(config.cache_alias, "w" if write else "r", identity, limit)
        if retry_after is None:
            return None
        kind = "submissions and other writes" if write else "reads"
        return error_response(
            429, f"Rate limit reached: {limit} {kind} per minute. Try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def api_key_from_request(request: HttpRequest) -> str | None:
    key = request.headers.get("X-API-Key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def key_is_valid(key: str, keys: tuple[str, ...]) -> bool:
    # Compare against every key in constant time, so timing reveals neither which
    # key nor how much of one matched.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


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


def _is_public(path: str, config: SecurityConfig) -> bool:
    rest = path[len(API_PREFIX) - 1:]  # keeps the leading slash: "/capabilities"
    return any(rest == p or (p.endswith("/") and rest.startswith(p)) for p in config.public_paths)


def _origin_allowed(config: SecurityConfig, origin: str) -> bool:
    return "*" in config.cors_origins or origin.rstrip("/") in config.cors_origins


def _add_cors_headers(response: HttpResponse, config: SecurityConfig, origin: str) -> None:
    if not config.cors_origins:
        return
    _vary_origin(response)
    if not _origin_allowed(config, origin):
        return
    if "*" in config.cors_origins:
        response["Access-Control-Allow-Origin"] = "*"
    else:
        response["Access-Control-Allow-Origin"] = origin
        if config.cors_credentials:
            response["Access-Control-Allow-Credentials"] = "true"
    response["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS


def _preflight(config: SecurityConfig, origin: str) -> HttpResponse:
    if not config.cors_origins or not _origin_allowed(config, origin):
        response = error_response(403, f"Cross-origin requests from {origin} are not allowed.")
        _vary_origin(response)
        return response
    response = HttpResponse(status=204)
    _add_cors_headers(response, config, origin)
    response["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
    response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    response["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
    return response


def _vary_origin(response: HttpResponse) -> None:
    vary = response.get("Vary", "")
    if "origin" not in vary.lower():
        response["Vary"] = f"{vary}, Origin" if vary else "Origin"
