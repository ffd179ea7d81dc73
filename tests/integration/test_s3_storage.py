"""PAKSA_STORAGE=s3 against an S3-compatible server (moto) on loopback: inputs and
the output live in the bucket, and /download streams from it with Range support."""

from __future__ import annotations

import boto3
import pytest
import requests

from tests.service import Service

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_job_files_live_in_the_bucket(tmp_path, s3_server, astronaut_path, short_speech_wav):
    service = Service(tmp_path / "svc", PAKSA_RATE_LIMIT_PER_MINUTE="0", **s3_server)
    try:
        service.start()
        with astronaut_path.open("rb") as image, short_speech_wav.open("rb") as audio:
            r = requests.post(f"{service.url}/api/v1/generate/fusion-video", files={"image": image, "audio": audio},
                              data={"resolution": "480p", "fps": "15", "expressionEngine": "none"}, timeout=60)
        assert r.status_code == 200, r.text
        task_id = r.json()["task_id"]
        data = service.wait_for(task_id, timeout=240)
        assert data["status"] == "completed", data
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
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4" and video.content == stored
    assert ranged.status_code == 206 and ranged.content == stored[100:1124]
    assert ranged.headers["Content-Range"] == f"bytes 100-1123/{len(stored)}"
    assert tail.status_code == 206 and tail.content == stored[-500:]
    # Nothing of the job was written to local media storage.
    media = service.data_dir / "media"
    assert not media.exists() or [p for p in media.rglob("*") if p.is_file()] == []
