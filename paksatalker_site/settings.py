"""PaksaTalker settings: everything from the environment (paksatalker_site/env.py).

With no variables set this is the embedded default: SQLite, SqliteHuey, local
file storage, one worker. DATABASE_URL, REDIS_URL and PAKSA_STORAGE=s3 switch
on the scale-out deployment with the same code.
"""

from __future__ import annotations

from paksatalker_site.cors import cors_settings
from paksatalker_site.env import (
    BASE_DIR,
    data_dir,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    web_threads,
)

DATA_DIR = data_dir()
DATA_DIR.mkdir(parents=True, exist_ok=True)
MODELS_DIR = env_path("PAKSA_MODELS_DIR", BASE_DIR / "models")
WORK_DIR = env_path("PAKSA_WORK_DIR", DATA_DIR / "work")

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept in the data directory, so sessions survive restarts
    # without anyone having to invent one.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "huey.contrib.djhuey",
    "generation.apps.GenerationConfig",
    "expressions.apps.ExpressionsConfig",
    "voices.apps.VoicesConfig",
]

MIDDLEWARE = [
    # First, so its headers reach every /api/v1 response, errors included (paksatalker_site/cors.py).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "paksatalker_site.middleware.JsonErrorMiddleware",
    # Both answer from the headers alone: a refused client's body is never read.
    "paksatalker_site.security.RateLimitMiddleware",
    "paksatalker_site.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "paksatalker_site.urls"
WSGI_APPLICATION = "paksatalker_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database: SQLite by default, DATABASE_URL (PostgreSQL) for scale-out ---
import dj_database_url  # noqa: E402

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # Persistent per-thread connections: closing the last connection to a WAL
            # database checkpoints it (with fsyncs), which per request cost more than the request.
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            # Web and worker share the file: wait for locks instead of failing.
            # WAL + synchronous=NORMAL: readers never block the writer, and a commit
            # needs no fsync (a power cut may lose the last commits, never corrupt).
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue: SqliteHuey by default, RedisHuey when REDIS_URL is set ---
REDIS_URL = env_str("REDIS_URL", "")
HUEY_WORKERS = env_int("PAKSA_WORKERS", 1)
HUEY = {
    "name": env_str("PAKSA_QUEUE_NAME", "paksatalker"),
    # Explicit, never inherited from DEBUG: tests turn it on, nothing else does.
    "immediate": env_bool("PAKSA_HUEY_IMMEDIATE", False),
    "consumer": {"workers": HUEY_WORKERS, "worker_type": "process", "periodic": True},
}
if REDIS_URL:
    # The priority variant: reaper tasks must not wait behind renders (Redis >= 5).
    HUEY.update({"huey_class": "huey.PriorityRedisHuey", "url": REDIS_URL})
else:
    # Huey's own SQLite storage (WAL journal by default): one file beside the job database.
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "huey.sqlite3")})

# --- Storage: local files by default, S3-compatible with PAKSA_STORAGE=s3 ---
MEDIA_ROOT = env_path("PAKSA_MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
PAKSA_STORAGE = env_str("PAKSA_STORAGE", "local")
if PAKSA_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("PAKSA_S3_BUCKET", "paksatalker"),
            "endpoint_url": env_str("PAKSA_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("PAKSA_S3_REGION", "") or None,
            "access_key": env_str("PAKSA_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("PAKSA_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("PAKSA_S3_PREFIX", ""),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            # Presign download URLs with SigV4: botocore would pick SigV2 in older regions,
            # which AWS is retiring and S3-compatible servers may not accept.
            "signature_version": "s3v4",
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Uploads and limits ---
PAKSA_MAX_REQUEST_BYTES = env_int("PAKSA_MAX_REQUEST_MB", 100) * 1024 * 1024
PAKSA_MAX_IMAGE_BYTES = env_int("PAKSA_MAX_IMAGE_MB", 15) * 1024 * 1024
PAKSA_MAX_AUDIO_BYTES = env_int("PAKSA_MAX_AUDIO_MB", 50) * 1024 * 1024
PAKSA_MAX_BACKGROUND_BYTES = env_int("PAKSA_MAX_BACKGROUND_MB", 15) * 1024 * 1024
PAKSA_MAX_AUDIO_SECONDS = env_float("PAKSA_MAX_AUDIO_SECONDS", 600.0)
PAKSA_MAX_TEXT_CHARS = env_int("PAKSA_MAX_TEXT_CHARS", 5000)
PAKSA_MAX_IMAGE_PIXELS = env_int("PAKSA_MAX_IMAGE_PIXELS", 40_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # non-file form fields
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger files spool to disk
# Django's multipart parser streams each file through these: the first stops a file at its
# field's limit (413), the others are Django's own.
FILE_UPLOAD_HANDLERS = [
    "paksatalker_site.uploads.FieldLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Rendering ---
PAKSA_X264_PRESET = env_str("PAKSA_X264_PRESET", "ultrafast")  # x264 preset of rendered MP4s
PAKSA_X264_CRF = env_int("PAKSA_X264_CRF", 20)  # x264 quality: 0-51, lower is better and larger
PAKSA_PREPROCESS = env_str("PAKSA_PREPROCESS", "full")
PAKSA_STRICT_PREPROCESS = env_bool("PAKSA_STRICT_PREPROCESS", False)
PAKSA_DISABLED_ENGINES = tuple(env_list("PAKSA_DISABLED_ENGINES", ""))
PAKSA_RENDER_THREADS = env_int("PAKSA_RENDER_THREADS", 2)
PAKSA_TTS_PROVIDERS = tuple(env_list("PAKSA_TTS_PROVIDERS", "edge,gtts,espeak"))
PAKSA_TTS_ONLINE_TIMEOUT = env_float("PAKSA_TTS_ONLINE_TIMEOUT", 4.0)
PAKSA_SADTALKER_DIR = env_str("PAKSA_SADTALKER_DIR", "")
PAKSA_SADTALKER_CHECKPOINTS = env_str("PAKSA_SADTALKER_CHECKPOINTS", "")
PAKSA_SADTALKER_PYTHON = env_str("PAKSA_SADTALKER_PYTHON", "")
PAKSA_FACE_ENHANCER = env_str("PAKSA_FACE_ENHANCER", "")
PAKSA_SADTALKER_TIMEOUT_BASE = env_float("PAKSA_SADTALKER_TIMEOUT_BASE", 300.0)
PAKSA_SADTALKER_TIMEOUT_PER_AUDIO_SECOND = env_float("PAKSA_SADTALKER_TIMEOUT_PER_AUDIO_SECOND", 60.0)

# --- Job liveness and retention ---
PAKSA_HEARTBEAT_SECONDS = env_float("PAKSA_HEARTBEAT_SECONDS", 2.0)
PAKSA_STALE_AFTER_SECONDS = env_float("PAKSA_STALE_AFTER_SECONDS", 60.0)
PAKSA_REAPER_INTERVAL_SECONDS = env_int("PAKSA_REAPER_INTERVAL_SECONDS", 60)
PAKSA_MAX_ATTEMPTS = env_int("PAKSA_MAX_ATTEMPTS", 3)
PAKSA_MAX_QUEUED_JOBS = env_int("PAKSA_MAX_QUEUED_JOBS", 100)
# Event streams open at once per web process: each holds a thread, so two stay for the rest.
PAKSA_MAX_EVENT_STREAMS = max(1, env_int("PAKSA_MAX_EVENT_STREAMS", web_threads() - 2))
PAKSA_EVENT_STREAM_MAX_SECONDS = env_float("PAKSA_EVENT_STREAM_MAX_SECONDS", 3600.0)  # longest a stream stays open
PAKSA_RETENTION_DAYS = env_float("PAKSA_RETENTION_DAYS", 7.0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PAKSA_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Access control: API keys (Ninja auth), rate limits, CORS (paksatalker_site/security.py, cors.py) ---
# Rate-limit counters live in the cache: Redis shared by every web node when
# REDIS_URL is set; per process otherwise (each gunicorn worker counts alone).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env_str("PAKSA_QUEUE_NAME", "paksatalker"),
                          "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "paksatalker"}}
PAKSA_API_KEYS = tuple(env_list("PAKSA_API_KEYS", ""))
# Reachable without a key even when keys are configured (a trailing / means a prefix).
PAKSA_PUBLIC_API_PATHS = tuple(env_list("PAKSA_PUBLIC_API_PATHS", "/capabilities,/openapi.json,/docs,/docs/"))
PAKSA_RATE_LIMIT_PER_MINUTE = env_int("PAKSA_RATE_LIMIT_PER_MINUTE", 30)  # writes, per key or IP; 0 = off
PAKSA_READ_RATE_LIMIT_PER_MINUTE = env_int("PAKSA_READ_RATE_LIMIT_PER_MINUTE", 1200)  # reads; 0 = off
PAKSA_PROXY_COUNT = env_int("PAKSA_PROXY_COUNT", 0)  # trusted reverse proxies setting X-Forwarded-For
# django-cors-headers' CORS_* settings; "*" with credentials refuses to start.
globals().update(cors_settings(env_list("PAKSA_CORS_ORIGINS", ""), env_bool("PAKSA_CORS_ALLOW_CREDENTIALS", False)))

# --- HTTPS: one switch for a site served over TLS by a proxy in front (docs/deployment.md) ---
# With it, DEBUG off and a real DJANGO_SECRET_KEY, `manage.py check --deploy` has nothing to say.
DJANGO_HTTPS = env_bool("DJANGO_HTTPS", False)
if DJANGO_HTTPS:
    # The proxy sets X-Forwarded-Proto on every request, replacing any the client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # HSTS covers this host's own subdomains; preload only allows a submission to the browsers' list.
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Downloads: presigned S3 URLs and nginx X-Accel-Redirect
# On S3 storage /download/<id>.mp4 answers 302 to a presigned URL valid this many seconds;
# S3 serves the body and the Range requests.
PAKSA_DOWNLOAD_URL_TTL = env_int("PAKSA_DOWNLOAD_URL_TTL", 300)
# Local storage behind nginx: e.g. /protected-media/, an `internal` location aliased to
# MEDIA_ROOT (docs/deployment.md); nginx then serves the files and their Ranges. Empty: Django does.
PAKSA_X_ACCEL_REDIRECT_PREFIX = env_str("PAKSA_X_ACCEL_REDIRECT_PREFIX", "")
