"""PAKSA_STORAGE=s3 against an S3-compatible server (moto) on loopback: inputs and
the output live in the bucket, and /download redirects to a presigned URL on which
the bucket itself answers Range requests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from tests.service import Service

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_job_files_live_in_the_bucket(tmp_path, s3_server, astronaut_path, short_speech_wav):
    service = Service(tmp_path / "svc", PAKSA_RATE_LIMIT_PER_MINUTE="0", PAKSA_DOWNLOAD_URL_TTL="120", **s3_server)
    try:
        service.start()
        with astronaut_path.open("rb") as image, short_speech_wav.open("rb") as audio:
            r = requests.post(f"{service.url}/api/v1/generate/fusion-video", files={"image": image, "audio": audio},
                              data={"resolution": "480p", "fps": "15", "expressionEngine": "none"}, timeout=60)
        assert r.status_code == 200, r.text
        task_id = r.json()["task_id"]
        data = service.wait_for(task_id, timeout=240)
        assert data["status"] == "completed", data
        redirect = requests.get(f"{service.url}{data['video_url']}", allow_redirects=False, timeout=60)
        head = requests.head(f"{service.url}{data['video_url']}", allow_redirects=True, timeout=60)
        # Clients that follow redirects (browsers, requests) see the file as before.
        video = requests.get(f"{service.url}{data['video_url']}", timeout=60)
        ranged = requests.get(f"{service.url}{data['video_url']}", headers={"Range": "bytes=100-1123"}, timeout=60)
        tail = requests.get(f"{service.url}{data['video_url']}", headers={"Range": "bytes=-500"}, timeout=60)
    finally:
        service.stop()

    s3 = boto3.client("s3", endpoint_url=s3_server["PAKSA_S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="paksa-test").get("Contents", [])}
    assert f"paksa/inputs/{task_id}/image.png" in keys
    assert f"paksa/inputs/{task_id}/audio.wav" in keys
    assert f"paksa/outputs/{task_id}.mp4" in keys
    stored = s3.get_object(Bucket="paksa-test", Key=f"paksa/outputs/{task_id}.mp4")["Body"].read()
    location = urlsplit(redirect.headers["Location"])
    assert redirect.status_code == 302 and redirect.content == b""
    assert f"{location.scheme}://{location.netloc}" == s3_server["PAKSA_S3_ENDPOINT_URL"]
    assert location.path == f"/paksa-test/paksa/outputs/{task_id}.mp4"
    assert parse_qs(location.query)["X-Amz-Expires"] == ["120"]
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(stored))
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4" and video.content == stored
    assert video.headers["Content-Disposition"] == f'inline; filename="{task_id}.mp4"'
    assert ranged.status_code == 206 and ranged.content == stored[100:1124]
    assert [h.status_code for h in ranged.history] == [302]  # the bucket answered the Range, not Django
    assert ranged.headers["Content-Range"] == f"bytes 100-1123/{len(stored)}"
    assert tail.status_code == 206 and tail.content == stored[-500:]
    # Nothing of the job was written to local media storage.
    media = service.data_dir / "media"
    assert not media.exists() or [p for p in media.rglob("*") if p.is_file()] == []
