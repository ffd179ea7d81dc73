"""/download on S3 storage (moto_server on loopback): the video is a 302 to a presigned
URL, and S3 itself answers the Range requests; captions still come through Django."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile

from generation.models import GenerationJob, JobStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAYLOAD = bytes(range(256)) * 40  # 10 240 bytes, every offset distinguishable mod 256


@pytest.fixture
def s3_storage(s3_server, settings):
    """The default storage is django-storages' S3 backend on moto, configured as settings.py does."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": s3_server["PAKSA_S3_BUCKET"], "endpoint_url": s3_server["PAKSA_S3_ENDPOINT_URL"],
        "region_name": s3_server["PAKSA_S3_REGION"], "access_key": s3_server["PAKSA_S3_ACCESS_KEY_ID"],
        "secret_key": s3_server["PAKSA_S3_SECRET_ACCESS_KEY"], "location": s3_server["PAKSA_S3_PREFIX"],
        "file_overwrite": False, "default_acl": None, "querystring_auth": True, "signature_version": "s3v4"}}}
    return s3_server


@pytest.fixture
def finished_job(s3_storage) -> GenerationJob:
    job = GenerationJob.objects.create(status=JobStatus.COMPLETED, progress=100)
    job.output.save(f"{job.id}.mp4", ContentFile(PAYLOAD), save=False)
    job.captions_vtt.save(f"{job.id}.vtt", ContentFile(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"), save=False)
    job.save()
    return job


def test_video_is_a_redirect_to_a_presigned_url_that_serves_ranges(client, finished_job, s3_storage, settings):
    settings.PAKSA_DOWNLOAD_URL_TTL = 90
    response = client.get(f"/api/v1/download/{finished_job.id}.mp4", HTTP_RANGE="bytes=100-1123")
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    location = response["Location"]
    endpoint = urlsplit(s3_storage["PAKSA_S3_ENDPOINT_URL"])
    url = urlsplit(location)
    assert (url.scheme, url.netloc) == (endpoint.scheme, endpoint.netloc)
    assert url.path == f"/paksa-test/paksa/outputs/{finished_job.id}.mp4"
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["90"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]

    ranged = requests.get(location, headers={"Range": "bytes=100-1123"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == PAYLOAD[100:1124]
    assert ranged.headers["Content-Range"] == f"bytes 100-1123/{len(PAYLOAD)}"
    assert ranged.headers["Content-Type"] == "video/mp4"
    assert ranged.headers["Content-Disposition"] == f'inline; filename="{finished_job.id}.mp4"'
    tail = requests.get(location, headers={"Range": "bytes=-500"}, timeout=30)
    assert tail.status_code == 206 and tail.content == PAYLOAD[-500:]
    whole = requests.get(location, timeout=30)
    assert whole.status_code == 200 and whole.content == PAYLOAD


def test_the_url_lives_as_long_as_the_setting_says(client, finished_job, settings):
    for ttl in (60, 3600):
        settings.PAKSA_DOWNLOAD_URL_TTL = ttl
        location = client.get(f"/api/v1/download/{finished_job.id}.mp4")["Location"]
        assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == [str(ttl)]


def test_head_redirects_to_a_url_signed_for_head(client, finished_job):
    response = client.head(f"/api/v1/download/{finished_job.id}.mp4")
    assert response.status_code == 302
    head = requests.head(response["Location"], timeout=30)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(PAYLOAD))
    # S3 checks that the signature covers the method (moto does not check signatures): with
    # the same signing time and parameters, the HEAD and GET URLs must differ in signature.
    for _ in range(3):  # until both are signed within the same second
        head_query = parse_qs(urlsplit(client.head(f"/api/v1/download/{finished_job.id}.mp4")["Location"]).query)
        get_query = parse_qs(urlsplit(client.get(f"/api/v1/download/{finished_job.id}.mp4")["Location"]).query)
        if head_query["X-Amz-Date"] == get_query["X-Amz-Date"]:
            break
    assert {k: v for k, v in head_query.items() if k != "X-Amz-Signature"} == {k: v for k, v in get_query.items() if k != "X-Amz-Signature"}
    assert head_query["X-Amz-Signature"] != get_query["X-Amz-Signature"]


def test_captions_come_through_django_with_ranges(client, finished_job):
    response = client.get(f"/api/v1/download/{finished_job.id}.vtt", HTTP_RANGE="bytes=0-5")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"WEBVTT"


def test_missing_objects_and_unfinished_jobs_stay_404_json(client, finished_job, s3_storage):
    import boto3

    running = GenerationJob.objects.create(status=JobStatus.PROCESSING)
    s3 = boto3.client("s3", endpoint_url=s3_storage["PAKSA_S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.delete_object(Bucket="paksa-test", Key=f"paksa/outputs/{finished_job.id}.mp4")  # e.g. retention removed it
    for name in (f"{finished_job.id}.mp4", f"{running.id}.mp4", f"{uuid.uuid4()}.mp4"):
        response = client.get(f"/api/v1/download/{name}")
        assert response.status_code == 404, name
        assert response.json()["success"] is False, name
