"""Bad input gets a clear 4xx JSON error, stores nothing, and the server keeps serving."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.models import GenerationJob
from tests.generation.helpers import stored_files, upload

pytestmark = pytest.mark.django_db

FUSION = "/api/v1/generate/fusion-video"
PROMPT = "/api/v1/generate/video-from-prompt"


def _assert_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["detail"], str) and body["detail"]
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in body["detail"]
    return body


def _nothing_stored(settings) -> None:
    assert GenerationJob.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []


def test_no_image_and_no_text(client, settings, speech_wav):
    _assert_error(client.post(FUSION, {}), 400, "audio")
    _assert_error(client.post(FUSION, {"audio": upload(speech_wav)}), 400, "image")
    _nothing_stored(settings)


def test_text_file_sent_as_image(client, settings, speech_wav):
    fake = SimpleUploadedFile("face.png", b"just some words, not pixels\n" * 20, content_type="image/png")
    _assert_error(client.post(FUSION, {"image": fake, "audio": upload(speech_wav)}), 415, "not an image")
    _nothing_stored(settings)


def test_zero_byte_upload(client, settings, astronaut_path):
    empty = SimpleUploadedFile("speech.wav", b"", content_type="audio/wav")
    _assert_error(client.post(FUSION, {"image": upload(astronaut_path), "audio": empty}), 400, "empty")
    _nothing_stored(settings)


def test_audio_that_is_not_audio(client, settings, astronaut_path):
    fake = SimpleUploadedFile("speech.mp3", b"ID3" + b"\x00" * 64 + b"not really an mp3" * 50, content_type="audio/mpeg")
    _assert_error(client.post(FUSION, {"image": upload(astronaut_path), "audio": fake}), 415, "audio")
    _nothing_stored(settings)


def test_image_sent_as_audio(client, settings, astronaut_path):
    _assert_error(client.post(FUSION, {"image": upload(astronaut_path), "audio": upload(astronaut_path, "a.wav")}), 415, "audio")
    _nothing_stored(settings)


@pytest.mark.parametrize(
    "fields, status, words",
    [
        ({"voice": "xx-XX-NobodyNeural"}, 422, ["xx-XX-NobodyNeural"]),
        ({"resolution": "4k"}, 422, ["resolution"]),
        ({"fps": "61"}, 422, ["fps"]),
        ({"fps": "5"}, 422, ["fps"]),
        ({"fps": "fast"}, 422, ["fps"]),
        ({"emotion": "bored"}, 422, ["emotion", "happy"]),
        ({"preprocess": "zoom"}, 422, ["preprocess", "crop"]),
        ({"backgroundMode": "stars"}, 422, ["backgroundMode", "blur"]),
    ],
)
def test_field_validation(client, settings, astronaut_path, fields, status, words):
    data = {"image": upload(astronaut_path), "text": "Hello there.", **fields}
    _assert_error(client.post(FUSION, data), status, *words)
    _nothing_stored(settings)


def test_text_over_the_limit(client, settings):
    _assert_error(client.post(PROMPT, {"prompt": "a" * (settings.PAKSA_MAX_TEXT_CHARS + 1)}), 422, "limit")
    _nothing_stored(settings)


def test_prompt_is_required(client, settings):
    _assert_error(client.post(PROMPT, {"voice": "en-US-JennyNeural"}), 422, "prompt")
    _assert_error(client.post(PROMPT, {"prompt": "   "}), 422, "prompt")
    _nothing_stored(settings)


def test_unknown_task_id(client):
    _assert_error(client.get("/api/v1/status/00000000-0000-4000-8000-000000000000"), 404, "task")
    _assert_error(client.get("/api/v1/status/not-a-uuid"), 404)
    _assert_error(client.post("/api/v1/status/00000000-0000-4000-8000-000000000000/cancel"), 404)


@pytest.mark.parametrize("name", ["../settings.py", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2fdb.sqlite3", "x.mp4", "00000000-0000-4000-8000-000000000000.mp4"])
def test_download_only_serves_task_files(client, name):
    response = client.get(f"/api/v1/download/{name}")
    _assert_error(response, 404)


def test_unknown_route_and_wrong_method(client):
    _assert_error(client.get("/api/v1/nothing-here"), 404, "/api/v1/nothing-here")
    _assert_error(client.get("/no/such/page"), 404)
    body = _assert_error(client.get(FUSION), 405)
    assert "POST" in body["detail"]
    _assert_error(client.delete("/api/v1/voices"), 405)


def test_oversized_body_is_413_before_reading(client, settings):
    settings.PAKSA_MAX_REQUEST_BYTES = 1000
    _assert_error(client.post(PROMPT, {"prompt": "x" * 2000}), 413, "limit")
    _nothing_stored(settings)


def test_oversized_image_field_is_413(client, settings, astronaut_path):
    settings.PAKSA_MAX_IMAGE_BYTES = 1000
    _assert_error(client.post(FUSION, {"image": upload(astronaut_path), "text": "Hi."}), 413, "image")
    _nothing_stored(settings)


def test_server_error_is_json_without_traceback(client, monkeypatch):
    import generation.api as generation_api

    def explode():
        raise RuntimeError("secret internals /etc/paksa")

    monkeypatch.setattr(generation_api, "capabilities_get", explode)
    body = _assert_error(client.get("/api/v1/capabilities"), 500)
    assert "secret" not in body["detail"]


def test_server_keeps_serving_after_errors(client):
    for _ in range(3):
        client.post(FUSION, {"image": SimpleUploadedFile("a.png", b"nope")})
    assert client.get("/api/v1/voices").status_code == 200
