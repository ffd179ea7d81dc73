"""API keys, rate limits, CORS, and the admin behind Django auth with CSRF."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from generation.models import GenerationJob
from paksatalker_site.security import SecurityConfig, rate_limit_hit
from tests.reliability.helpers import assert_error

pytestmark = pytest.mark.django_db

PROMPT = "/api/v1/generate/video-from-prompt"


@pytest.fixture
def keys(settings):
    settings.PAKSA_API_KEYS = ("key-one-0123456789", "key-two-abcdefghij")
    return settings.PAKSA_API_KEYS


def test_no_keys_configured_means_open(client, settings):
    settings.PAKSA_API_KEYS = ()
    assert client.get("/api/v1/voices").status_code == 200
    assert client.get("/api/v1/voices", HTTP_X_API_KEY="anything").status_code == 200


def test_missing_key_is_401_and_wrong_key_is_403(client, keys, queued_only):
    response = client.get("/api/v1/voices")
    assert_error(response, 401, "API key")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.get("/api/v1/voices", HTTP_X_API_KEY="key-one-012345678"), 403, "not valid")
    assert_error(client.get("/api/v1/voices", HTTP_AUTHORIZATION="Bearer nope"), 403)
    assert_error(client.get("/api/v1/voices", HTTP_AUTHORIZATION="Basic a2V5LW9uZQ=="), 401)
    assert_error(client.post(PROMPT, {"prompt": "Hello."}), 401)
    assert_error(client.get("/api/v1/status/00000000-0000-4000-8000-000000000000"), 401)
    assert_error(client.get("/api/v1/download/00000000-0000-4000-8000-000000000000.mp4"), 401)
    assert_error(client.get("/api/v1/no-such-route"), 401)  # no route map for strangers
    assert GenerationJob.objects.count() == 0 and queued_only == []


def test_valid_key_in_either_header(client, keys, queued_only):
    assert client.get("/api/v1/voices", HTTP_X_API_KEY=keys[0]).status_code == 200
    assert client.get("/api/v1/voices", HTTP_AUTHORIZATION=f"Bearer {keys[1]}").status_code == 200
    response = client.post(PROMPT, {"prompt": "Hello there."}, HTTP_X_API_KEY=keys[1])
    assert response.status_code == 200, response.content
    assert GenerationJob.objects.count() == 1


def test_public_routes_need_no_key(client, keys, monkeypatch):
    import generation.api as generation_api

    monkeypatch.setattr(generation_api, "capabilities_get", lambda: {"models": {}, "ffmpeg": {"available": True}})
    assert client.get("/api/v1/capabilities").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
    assert_error(client.get("/api/v1/capabilitiesX"), 401)  # exact match, not a prefix


def test_write_limit_gives_429_with_retry_after_and_reads_go_on(client, settings, queued_only):
    settings.PAKSA_RATE_LIMIT_PER_MINUTE = 3
    settings.PAKSA_READ_RATE_LIMIT_PER_MINUTE = 100
    for _ in range(3):
        assert client.post(PROMPT, {"prompt": ""}).status_code == 422  # refused requests count too
    response = client.post(PROMPT, {"prompt": "Hello."})
    assert_error(response, 429, "3 submissions")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert GenerationJob.objects.count() == 0
    # Status polling has its own bucket: submissions can never starve it.
    assert client.get("/api/v1/voices").status_code == 200
    # Another client (IP) has its own budget.
    assert client.post(PROMPT, {"prompt": "Hello."}, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_read_limit(client, settings):
    settings.PAKSA_READ_RATE_LIMIT_PER_MINUTE = 5
    for _ in range(5):
        assert client.get("/api/v1/languages").status_code == 200
    assert_error(client.get("/api/v1/languages"), 429, "reads")
    assert client.get("/api/v1/languages", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_limits_are_per_key(client, keys, settings, queued_only):
    settings.PAKSA_RATE_LIMIT_PER_MINUTE = 2
    for _ in range(2):
        client.post(PROMPT, {"prompt": ""}, HTTP_X_API_KEY=keys[0])
    assert_error(client.post(PROMPT, {"prompt": ""}, HTTP_X_API_KEY=keys[0]), 429)
    # Same IP, other key: its own budget.
    assert client.post(PROMPT, {"prompt": ""}, HTTP_X_API_KEY=keys[1]).status_code == 422


def test_proxy_count_uses_the_address_the_proxy_saw(client, settings):
    settings.PAKSA_READ_RATE_LIMIT_PER_MINUTE = 1
    settings.PAKSA_PROXY_COUNT = 1
    assert client.get("/api/v1/languages", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7").status_code == 200
    # A spoofed left-hand entry does not buy a new budget.
    assert client.get("/api/v1/languages", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7").status_code == 429
    assert client.get("/api/v1/languages", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


def test_window_rolls_over():
    from django.core.cache import cache

    cache.clear()
    start = 1_000_000 * 60.0
    assert rate_limit_hit("default", "w", "ip:x", 1, now=start) is None
    assert rate_limit_hit("default", "w", "ip:x", 1, now=start + 20) == 40
    assert rate_limit_hit("default", "w", "ip:x", 1, now=start + 61) is None


def test_cors_preflight_and_headers(client, settings, keys):
    settings.PAKSA_CORS_ORIGINS = ("https://studio.example.com",)
    preflight = client.options(PROMPT, HTTP_ORIGIN="https://studio.example.com",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, idempotency-key")
    assert preflight.status_code == 204  # answered without a key: browsers never send one here
    assert preflight["Access-Control-Allow-Origin"] == "https://studio.example.com"
    assert "X-API-Key" in preflight["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight
    refused = client.options(PROMPT, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert_error(refused, 403, "evil.example")
    assert "Access-Control-Allow-Origin" not in refused
    # Errors carry the CORS headers too, so the browser can show them.
    error = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert error.status_code == 401
    assert error["Access-Control-Allow-Origin"] == "https://studio.example.com"
    assert "Origin" in error["Vary"]
    ok = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com", HTTP_X_API_KEY=keys[0])
    assert ok.status_code == 200 and "Retry-After" in ok["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/voices", HTTP_ORIGIN="https://evil.example", HTTP_X_API_KEY=keys[0])


def test_cors_wildcard_never_with_credentials(client, settings):
    settings.PAKSA_CORS_ORIGINS = ("*",)
    settings.PAKSA_CORS_ALLOW_CREDENTIALS = False
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://anywhere.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    settings.PAKSA_CORS_ALLOW_CREDENTIALS = True
    with pytest.raises(ImproperlyConfigured):
        SecurityConfig.from_settings()


def test_cors_credentials_for_listed_origins(client, settings):
    settings.PAKSA_CORS_ORIGINS = ("https://studio.example.com",)
    settings.PAKSA_CORS_ALLOW_CREDENTIALS = True
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert response["Access-Control-Allow-Credentials"] == "true"


def test_no_cors_configured_adds_nothing(client, settings):
    settings.PAKSA_CORS_ORIGINS = ()
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response
    preflight = client.options("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert_error(preflight, 403)


def test_admin_needs_login_and_csrf(settings, keys):
    csrf_client = Client(enforce_csrf_checks=True)
    anonymous = csrf_client.get("/admin/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert csrf_client.get("/admin/generation/generationjob/").status_code == 302
    refused = csrf_client.post("/admin/login/", {"username": "admin", "password": "x"})
    assert refused.status_code == 403 and b"CSRF" in refused.content
    # The admin is Django auth, not API keys: an API key does not open it.
    assert csrf_client.get("/admin/", HTTP_X_API_KEY=keys[0]).status_code == 302


def test_admin_login_works_with_csrf(settings, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    response = browser.post("/admin/login/", {"username": "boss", "password": "s3cret-pass", "csrfmiddlewaretoken": token,
                                              "next": "/admin/"})
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
