"""The job event stream: order, monotonic progress, ending, keepalives, real concurrent viewers."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from generation.events import job_events
from generation.models import GenerationJob, JobStatus
from generation.services import job_claim, job_complete, job_fail, job_progress_update

pytestmark = pytest.mark.django_db(transaction=True)


def _parse(chunks) -> tuple[list[dict], list[str]]:
    """(data events, comment lines) from SSE byte chunks."""
    text = b"".join(chunks).decode()
    events, comments = [], []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            elif line.startswith(":"):
                comments.append(line)
    return events, comments


def _drive(job_id: str, steps: list[tuple[float, str]], finish, pause: float = 0.7) -> threading.Thread:
    """A fake worker: claim, report progress (one step backwards on purpose), then finish."""
    def run():
        time.sleep(pause)
        token = job_claim(job_id=job_id)
        for progress, stage in steps:
            job_progress_update(job_id=job_id, token=token, progress=progress, stage=stage)
            time.sleep(pause)
        finish(job_id, token)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_events_in_order_progress_monotonic_and_stream_ends_on_completion(client, tmp_path, settings):
    settings.PAKSA_EVENT_STREAM_MAX_SECONDS = 30
    job = GenerationJob.objects.create(params={"resolution": "480p"})
    output = tmp_path / "out.mp4"
    output.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    finish = lambda job_id, token: job_complete(job_id=job_id, token=token, output=output, result_fields={"engine": "still"})  # noqa: E731
    worker = _drive(str(job.id), [(10, "Speech"), (40, "Rendering frames"), (30, "Rendering frames"), (80, "Encoding")], finish)
    response = client.get(f"/api/v1/status/{job.id}/events")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    chunks = list(response.streaming_content)  # returns because the stream ends (at the latest after 30 s)
    worker.join(timeout=5)
    assert chunks[0].startswith(b"retry: ")
    events, _ = _parse(chunks)
    stages = [e["stage"] for e in events]
    assert stages[0] in ("Queued", "Starting")
    for expected in ("Speech", "Rendering frames", "Encoding", "Done"):
        assert expected in stages
    assert stages.index("Speech") < stages.index("Rendering frames") < stages.index("Encoding") < stages.index("Done")
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert events[-1]["status"] == "completed" and events[-1]["progress"] == 100
    assert [e["status"] for e in events[:-1]] == ["processing"] * (len(events) - 1)  # final event only once, last
    assert set(events[-1]) >= {"task_id", "status", "progress", "stage", "eta_seconds"}
    assert events[-1]["task_id"] == str(job.id)


def test_stream_ends_with_the_failure(client):
    job = GenerationJob.objects.create()
    finish = lambda job_id, token: job_fail(job_id=job_id, token=token, error="No face was found in the image.")  # noqa: E731
    _drive(str(job.id), [(20, "Finding the face")], finish, pause=0.3)
    events, _ = _parse(client.get(f"/api/v1/status/{job.id}/events").streaming_content)
    assert events[-1]["status"] == "failed" and events[-1]["error"] == "No face was found in the image."
    assert events[-1]["progress"] == 20


def test_already_ended_job_sends_one_event_and_closes(client):
    job = GenerationJob.objects.create(status=JobStatus.CANCELLED, stage="Cancelled")
    events, _ = _parse(client.get(f"/api/v1/status/{job.id}/events").streaming_content)
    assert [e["status"] for e in events] == ["cancelled"]


def test_unknown_job_is_a_json_404(client):
    response = client.get("/api/v1/status/6f1c4a52-0000-4000-8000-000000000000/events")
    assert response.status_code == 404 and response.json()["success"] is False


class _Clock:
    """A stand-in for the time module: sleep() moves monotonic() on, instantly."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_keepalives_and_bounded_lifetime(monkeypatch):
    from generation import events as events_module

    clock = _Clock()
    monkeypatch.setattr(events_module, "time", clock)
    job = GenerationJob.objects.create()
    chunks = list(job_events(job_id=str(job.id), poll_seconds=0.05, keepalive_seconds=0.2, max_seconds=1.0))
    # It polled every 0.05 s until its lifetime was up, then closed by itself.
    assert set(clock.sleeps) == {0.05} and sum(clock.sleeps) == pytest.approx(1.0, abs=0.05 + 1e-9)
    events, comments = _parse(chunks)
    assert len(events) == 1 and events[0]["status"] == "processing"  # nothing changed: no repeats
    assert 4 <= comments.count(": keepalive") <= 5  # one per 0.2 s of silence


def test_deleted_job_ends_the_stream():
    job = GenerationJob.objects.create()
    stream = job_events(job_id=str(job.id), poll_seconds=0.05, max_seconds=10)
    assert next(stream).startswith(b"retry:") and next(stream).startswith(b"data:")
    job.delete()
    assert list(stream) == []


def test_a_process_opens_at_most_its_limit_of_event_streams(client, monkeypatch):
    from generation import events

    monkeypatch.setattr(events, "STREAM_SLOTS", events.StreamSlots(2))
    job = GenerationJob.objects.create()
    url = f"/api/v1/status/{job.id}/events"
    first, second = client.get(url), client.get(url)
    assert next(iter(first.streaming_content)).startswith(b"retry:")  # one is being read, one never is
    refused = client.get(url)
    assert refused.status_code == 503 and refused["Retry-After"] == "5"
    assert "poll /status" in refused.json()["detail"] and refused.json()["success"] is False
    first.close()
    second.close()  # a stream nobody read gives its slot back too
    for _ in range(2):
        again = client.get(url)
        assert again.status_code == 200
        again.close()


@pytest.mark.slow
@pytest.mark.integration
def test_concurrent_viewers_on_the_real_server_see_the_same_final_event(tmp_path_factory, astronaut_path, short_speech_wav):
    from tests.service import Service

    service = Service(tmp_path_factory.mktemp("events-service"))
    service.start()
    try:
        with astronaut_path.open("rb") as image, short_speech_wav.open("rb") as audio:
            response = requests.post(f"{service.url}/api/v1/generate/fusion-video", files={"image": image, "audio": audio},
                                     data={"resolution": "480p", "fps": "15"}, timeout=30)
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]
        results: list[list[dict] | Exception] = [None] * 4

        def view(i: int) -> None:
            try:
                with requests.get(f"{service.url}/api/v1/status/{task_id}/events", stream=True, timeout=(5, 60)) as stream:
                    assert stream.headers["Content-Type"].startswith("text/event-stream")
                    results[i] = [json.loads(line[6:]) for line in stream.iter_lines(decode_unicode=True) if line.startswith("data: ")]
            except Exception as exc:  # reported below with the viewer's number
                results[i] = exc

        viewers = [threading.Thread(target=view, args=(i,)) for i in range(4)]
        for viewer in viewers:
            viewer.start()
        for viewer in viewers:
            viewer.join(timeout=180)
        assert not any(v.is_alive() for v in viewers), "a stream did not end with the job"
        for i, events in enumerate(results):
            assert isinstance(events, list) and events, f"viewer {i}: {events!r}"
            progress = [e["progress"] for e in events]
            assert progress == sorted(progress)
        finals = [events[-1] for events in results]
        assert all(final == finals[0] for final in finals)
        assert finals[0]["status"] == "completed" and finals[0]["progress"] == 100, finals[0]
        assert requests.get(f"{service.url}/api/v1/status/{task_id}", timeout=5).json()["data"]["status"] == "completed"
    finally:
        service.stop()
