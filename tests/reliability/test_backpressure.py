"""Backpressure and idempotency: a full queue says 503 + Retry-After; a retried
submission with the same Idempotency-Key never makes a second job."""

from __future__ import annotations

import threading

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.models import GenerationJob
from tests.reliability.helpers import assert_error, stored_files
from tests.service import Service

PROMPT = "/api/v1/generate/video-from-prompt"
FUSION = "/api/v1/generate/fusion-video"


@pytest.mark.django_db
def test_full_queue_is_503_with_retry_after(client, settings, queued_only, astronaut_path):
    settings.PAKSA_MAX_QUEUED_JOBS = 2
    accepted = [client.post(PROMPT, {"prompt": f"Job {n}."}) for n in range(2)]
    assert [r.status_code for r in accepted] == [200, 200]
    before = sorted(stored_files(settings.MEDIA_ROOT))
    image = SimpleUploadedFile("a.png", astronaut_path.read_bytes())
    response = client.post(FUSION, {"image": image, "text": "One too many."})
    assert_error(response, 503, "waiting")
    assert int(response["Retry-After"]) > 0
    assert GenerationJob.objects.count() == 2
    assert sorted(stored_files(settings.MEDIA_ROOT)) == before  # the refused upload left nothing
    # Reads go on while the queue is full.
    job_id = accepted[0].json()["task_id"]
    assert client.get(f"/api/v1/status/{job_id}").json()["data"]["queue_position"] == 1
    second = accepted[1].json()["task_id"]
    assert client.get(f"/api/v1/status/{second}").json()["data"]["queue_position"] == 2
    # Once a job has started, or ended, it no longer counts as waiting.
    GenerationJob.objects.filter(id=job_id).update(started_at="2024-01-01T00:00:00Z")
    assert client.post(PROMPT, {"prompt": "Now there is room."}).status_code == 200
    assert_error(client.post(PROMPT, {"prompt": "Full again."}), 503, "waiting")
    GenerationJob.objects.filter(id=accepted[1].json()["task_id"]).update(status="failed")
    assert client.post(PROMPT, {"prompt": "Room after a failure."}).status_code == 200


@pytest.mark.django_db
def test_idempotency_key_same_body_same_task(client, queued_only, astronaut_path, short_speech_wav):
    def send(text: str = "Hello there.", key: str = "order-42"):
        files = {"image": SimpleUploadedFile("a.png", astronaut_path.read_bytes()),
                 "audio": SimpleUploadedFile("s.wav", short_speech_wav.read_bytes())}
        return client.post(FUSION, {**files, "text": text, "resolution": "480p"}, HTTP_IDEMPOTENCY_KEY=key)

    first, second = send(), send()
    assert first.status_code == second.status_code == 200
    assert first.json()["task_id"] == second.json()["task_id"]
    assert GenerationJob.objects.count() == 1
    assert_error(send(text="Something else."), 422, "Idempotency-Key")
    assert GenerationJob.objects.count() == 1
    assert send(key="order-43").json()["task_id"] != first.json()["task_id"]


@pytest.mark.django_db
def test_idempotency_key_with_different_file_is_422(client, queued_only, astronaut_path, short_speech_wav, speech_wav):
    def send(wav):
        return client.post(FUSION, {"image": SimpleUploadedFile("a.png", astronaut_path.read_bytes()),
                                    "audio": SimpleUploadedFile("s.wav", wav.read_bytes())}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert send(short_speech_wav).status_code == 200
    assert_error(send(speech_wav), 422, "different request")
    assert GenerationJob.objects.count() == 1


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # A full queue keeps the worker idle: these tests are about the web side.
    svc = Service(tmp_path_factory.mktemp("backpressure"), PAKSA_RATE_LIMIT_PER_MINUTE="0",
                  PAKSA_DISABLED_ENGINES="native,sadtalker,wav2lip", PAKSA_TTS_PROVIDERS="espeak")
    svc.start()
    yield svc
    svc.stop()


@pytest.mark.slow
@pytest.mark.integration
def test_concurrent_identical_requests_make_one_job(service, astronaut_path):
    """Several clients retrying at the same instant: one job, every answer names it."""
    png = astronaut_path.read_bytes()
    barrier = threading.Barrier(6)
    answers: list[tuple[int, dict]] = []

    def submit():
        barrier.wait()
        r = requests.post(f"{service.url}{FUSION}", files={"image": ("a.png", png)},
                          data={"text": "Same request.", "resolution": "480p"},
                          headers={"Idempotency-Key": "race-1"}, timeout=60)
        answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200] * 6, answers
    assert len({body["task_id"] for _, body in answers}) == 1
    inputs = service.data_dir / "media" / "inputs"
    assert [p.name for p in inputs.iterdir()] == [answers[0][1]["task_id"]]  # no orphaned uploads


@pytest.mark.slow
@pytest.mark.integration
def test_oversized_upload_over_http_is_a_json_413(service):
    """Through gunicorn: the field is refused while streaming and the client reads the JSON."""
    big = b"\x00" * (16 * 1024 * 1024)  # over the 15 MB image limit, under the 100 MB request limit
    r = requests.post(f"{service.url}{FUSION}", files={"image": ("a.png", big)}, data={"text": "Hi."}, timeout=60)
    assert r.status_code == 413 and r.json() == {"success": False, "detail": r.json()["detail"]}
    assert "image" in r.json()["detail"]
    assert requests.get(f"{service.url}/api/v1/voices", timeout=10).status_code == 200


@pytest.mark.slow
@pytest.mark.integration
def test_load_benchmark_counts_every_request(service):
    """The `make bench` load client on a small scale: bursts, polls and tallies add up."""
    from generation.bench.load import run_load

    result = run_load(service.url, clients=4, polls=2, poll_interval=0.05, bursts=2)
    assert result["accepted"] == 8 and result["server_errors_5xx"] == 0 and result["connection_errors"] == 0
    assert result["status_requests"] == 16
    assert len(result["submit_p95_per_burst_ms"]) == 2
    assert 0 < result["submit_p50_ms"] <= result["submit_p95_ms"]
    assert result["image_bytes"] > 100_000
