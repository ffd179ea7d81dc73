"""/download on local storage: Django serves Ranges, or hands the file to nginx with
X-Accel-Redirect. (S3's presigned redirect: tests/integration/test_s3_downloads.py.)"""

from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile

from generation.models import GenerationJob, JobStatus

pytestmark = pytest.mark.django_db

PAYLOAD = bytes(range(256)) * 40  # 10 240 bytes, every offset distinguishable mod 256


@pytest.fixture
def finished_job() -> GenerationJob:
    job = GenerationJob.objects.create(status=JobStatus.COMPLETED, progress=100)
    job.output.save(f"{job.id}.mp4", ContentFile(PAYLOAD), save=False)
    job.captions_vtt.save(f"{job.id}.vtt", ContentFile(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"), save=False)
    job.save()
    return job


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file_with_its_headers(client, finished_job):
    response = client.get(f"/api/v1/download/{finished_job.id}.mp4")
    assert response.status_code == 200
    assert _body(response) == PAYLOAD
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(PAYLOAD))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == f'inline; filename="{finished_job.id}.mp4"'
    assert "X-Accel-Redirect" not in response


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=100-1123", 100, 1123),
    ("bytes=10000-", 10000, len(PAYLOAD) - 1),
    ("bytes=-500", len(PAYLOAD) - 500, len(PAYLOAD) - 1),
    ("bytes=10200-99999", 10200, len(PAYLOAD) - 1),  # the end is clipped to the file
])
def test_ranges_give_206_with_the_right_bytes(client, finished_job, header, first, last):
    response = client.get(f"/api/v1/download/{finished_job.id}.mp4", HTTP_RANGE=header)
    assert response.status_code == 206
    assert _body(response) == PAYLOAD[first:last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(PAYLOAD)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=500-100", "bytes=-", "items=0-10"])
def test_unsatisfiable_range_is_416_json(client, finished_job, header):
    response = client.get(f"/api/v1/download/{finished_job.id}.mp4", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response.json()["success"] is False and response.json()["detail"]
    assert response["Content-Range"] == f"bytes */{len(PAYLOAD)}"


def test_head_has_the_headers_and_no_body(client, finished_job):
    response = client.head(f"/api/v1/download/{finished_job.id}.mp4")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(PAYLOAD)) and response["Content-Type"] == "video/mp4"


def test_captions_download(client, finished_job):
    response = client.get(f"/api/v1/download/{finished_job.id}.vtt")
    assert response.status_code == 200 and response["Content-Type"] == "text/vtt; charset=utf-8"
    assert _body(response).startswith(b"WEBVTT")


def test_unknown_unfinished_and_foreign_names_are_404_json(client, finished_job):
    running = GenerationJob.objects.create(status=JobStatus.PROCESSING)
    for name in (f"{uuid.uuid4()}.mp4", f"{running.id}.mp4", f"{finished_job.id}.srt", "..%2Fsecret_key", f"{finished_job.id}.wav"):
        response = client.get(f"/api/v1/download/{name}")
        assert response.status_code == 404, name
        assert response.json()["success"] is False, name


@pytest.mark.parametrize("prefix", ["/protected-media/", "/protected-media"])
def test_x_accel_redirect_hands_the_file_to_nginx(client, finished_job, settings, prefix):
    settings.PAKSA_X_ACCEL_REDIRECT_PREFIX = prefix
    for method in ("get", "head"):
        response = getattr(client, method)(f"/api/v1/download/{finished_job.id}.mp4", HTTP_RANGE="bytes=0-9")
        assert response.status_code == 200, method  # nginx answers the Range itself
        assert response["X-Accel-Redirect"] == f"/protected-media/outputs/{finished_job.id}.mp4"
        assert response["Content-Type"] == "video/mp4"
        assert response["Content-Disposition"] == f'inline; filename="{finished_job.id}.mp4"'
        assert _body(response) == b""
    vtt = client.get(f"/api/v1/download/{finished_job.id}.vtt")
    assert vtt["X-Accel-Redirect"] == f"/protected-media/outputs/{finished_job.id}.vtt"
    assert vtt["Content-Type"] == "text/vtt; charset=utf-8"


def test_x_accel_redirect_keeps_404_json(client, settings):
    settings.PAKSA_X_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    response = client.get(f"/api/v1/download/{uuid.uuid4()}.mp4")
    assert response.status_code == 404 and response.json()["success"] is False
    assert "X-Accel-Redirect" not in response


def test_x_accel_redirect_refuses_bad_ranges_itself_as_json(client, finished_job, settings):
    """nginx's own 416 would be an HTML page: Django answers it with the JSON shape."""
    settings.PAKSA_X_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    response = client.get(f"/api/v1/download/{finished_job.id}.mp4", HTTP_RANGE="bytes=20000-")
    assert response.status_code == 416 and response.json()["success"] is False
    assert response["Content-Range"] == f"bytes */{len(PAYLOAD)}"
    assert "X-Accel-Redirect" not in response
