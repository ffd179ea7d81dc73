"""API keys (Ninja auth), rate limits, CORS (django-cors-headers), and the admin behind Django auth with CSRF."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from generation.models import GenerationJob
from paksatalker_site.cors import cors_settings
from paksatalker_site.security import rate_limit_hit
from tests.reliability.helpers import assert_error

pytestmark = pytest.mark.django_db

PROMPT = "/api/v1/generate/video-from-prompt"


def _cors(settings, origins, credentials=False):
    """What PAKSA_CORS_ORIGINS / PAKSA_CORS_ALLOW_CREDENTIALS set at start-up."""
    for name, value in cors_settings(origins, credentials).items():
        setattr(settings, name, value)


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


def test_the_docs_show_that_a_key_is_needed_only_when_keys_are_configured(client, settings):
    settings.PAKSA_API_KEYS = ()
    open_schema = client.get("/api/v1/openapi.json").json()
    assert not any("security" in op for ops in open_schema["paths"].values() for op in ops.values())
    settings.PAKSA_API_KEYS = ("key-one-0123456789",)
    schema = client.get("/api/v1/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"} in schemes.values()
    assert {"type": "http", "scheme": "bearer"} in schemes.values()
    assert schema["paths"]["/api/v1/generate/video-from-prompt"]["post"]["security"]
    assert schema["paths"]["/api/v1/voices"]["get"]["security"]
    assert "security" not in schema["paths"]["/api/v1/capabilities"]["get"]  # public


def test_the_docs_take_a_key_when_they_are_not_public(client, keys, settings):
    settings.PAKSA_PUBLIC_API_PATHS = ("/capabilities",)
    assert_error(client.get("/api/v1/openapi.json"), 401, "API key")
    assert_error(client.get("/api/v1/docs", HTTP_X_API_KEY="wrong"), 403)
    assert client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION=f"Bearer {keys[0]}").status_code == 200


class UnreadableInput(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("the body of a refused request was read")

    readinto = read


def test_a_refused_client_body_is_never_read(client, keys):
    # The key is checked before the view's form parameters are parsed.
    response = client.generic("POST", PROMPT, data=b"z" * 1000, content_type="multipart/form-data; boundary=b",
                              **{"wsgi.input": UnreadableInput()})
    assert_error(response, 401, "API key")


def test_a_wrong_key_buys_no_bucket_of_its_own(client, keys, settings):
    settings.PAKSA_READ_RATE_LIMIT_PER_MINUTE = 2
    for guess in ("guess-1", "guess-2"):
        assert_error(client.get("/api/v1/voices", HTTP_X_API_KEY=guess), 403)
    assert_error(client.get("/api/v1/voices", HTTP_X_API_KEY="guess-3"), 429)  # the IP's budget is spent
    assert client.get("/api/v1/voices", HTTP_X_API_KEY=keys[0]).status_code == 200  # a valid key has its own


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
    _cors(settings, ["https://studio.example.com/"])  # a trailing slash is forgiven
    preflight = client.options(PROMPT, HTTP_ORIGIN="https://studio.example.com",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, idempotency-key")
    assert preflight.status_code == 200  # answered without a key: browsers never send one here
    assert preflight["Access-Control-Allow-Origin"] == "https://studio.example.com"
    assert "x-api-key" in preflight["Access-Control-Allow-Headers"]
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight
    # Another origin gets no grant, so its browser refuses to send the request.
    refused = client.options(PROMPT, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert refused.status_code < 500 and "Access-Control-Allow-Origin" not in refused
    # Errors carry the CORS headers too, so the browser can show them.
    error = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert error.status_code == 401
    assert error["Access-Control-Allow-Origin"] == "https://studio.example.com"
    assert "origin" in error["Vary"].lower()
    ok = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com", HTTP_X_API_KEY=keys[0])
    assert ok.status_code == 200 and "Retry-After" in ok["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/voices", HTTP_ORIGIN="https://evil.example", HTTP_X_API_KEY=keys[0])
    assert "Access-Control-Allow-Origin" not in client.get("/", HTTP_ORIGIN="https://studio.example.com")  # /api/v1 only


def test_cors_wildcard_never_with_credentials(client, settings):
    _cors(settings, ["*"])
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://anywhere.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    with pytest.raises(ImproperlyConfigured):
        cors_settings(["*"], True)


def test_cors_credentials_for_listed_origins(client, settings):
    _cors(settings, ["https://studio.example.com"], credentials=True)
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert response["Access-Control-Allow-Origin"] == "https://studio.example.com"
    assert response["Access-Control-Allow-Credentials"] == "true"


def test_no_cors_configured_adds_nothing(client, settings):
    _cors(settings, [])
    response = client.get("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response
    preflight = client.options("/api/v1/voices", HTTP_ORIGIN="https://studio.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in preflight


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
