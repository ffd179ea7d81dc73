"""The service as a user runs it: real web server, real worker, real HTTP."""

from __future__ import annotations

import pytest
import requests

from generation.pipeline import media
from tests.service import Service

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = Service(tmp_path_factory.mktemp("service"), PAKSA_STALE_AFTER_SECONDS="4", PAKSA_HEARTBEAT_SECONDS="0.5")
    svc.start()
    yield svc
    svc.stop()


def test_fusion_video_over_http(service, astronaut_path, short_speech_wav, tmp_path):
    with astronaut_path.open("rb") as image, short_speech_wav.open("rb") as audio:
        response = requests.post(f"{service.url}/api/v1/generate/fusion-video",
                                 files={"image": image, "audio": audio}, data={"resolution": "480p"}, timeout=30)
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    seen = []
    data = service.wait_for(task_id, until=lambda d: seen.append(d["progress"]) and False)
    assert data["status"] == "completed", data
    assert seen == sorted(seen)  # progress never went backwards
    video = requests.get(f"{service.url}{data['video_url']}", timeout=30)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    out = tmp_path / "out.mp4"
    out.write_bytes(video.content)
    assert abs(media.probe(out).duration - media.probe(short_speech_wav).duration) <= 0.07
    ranged = requests.get(f"{service.url}{data['video_url']}", headers={"Range": "bytes=0-99"}, timeout=30)
    assert ranged.status_code == 206 and len(ranged.content) == 100


def test_worker_killed_mid_job_is_recovered(service, astronaut_path, speech_wav):
    with astronaut_path.open("rb") as image, speech_wav.open("rb") as audio:
        response = requests.post(f"{service.url}/api/v1/generate/fusion-video", files={"image": image, "audio": audio},
                                 data={"resolution": "1080p", "fps": "60"}, timeout=30)
    task_id = response.json()["task_id"]
    service.wait_for(task_id, until=lambda d: d["stage"].startswith("Rendering frames"), timeout=120)
    service.kill_worker()
    status = requests.get(f"{service.url}/api/v1/status/{task_id}", timeout=5).json()["data"]
    assert status["status"] == "processing"  # nobody is working on it now
    service.start_worker()
    data = service.wait_for(task_id, timeout=240)
    assert data["status"] == "completed", data
    assert data["attempts"] == 2
    outputs = [p.name for p in (service.data_dir / "media" / "outputs").iterdir()]
    assert f"{task_id}.mp4" in outputs
    assert not [name for name in outputs if name.endswith(".part")]  # no half-written leftovers
    video = requests.get(f"{service.url}{data['video_url']}", timeout=30)
    assert video.status_code == 200 and len(video.content) > 10_000
