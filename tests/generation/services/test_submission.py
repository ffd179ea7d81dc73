"""Submissions: fields an endpoint does not take are named back, on the answer and on the job."""

from __future__ import annotations

import pytest

from generation.models import GenerationJob
from tests.generation.helpers import upload

pytestmark = pytest.mark.django_db

FUSION = "/api/v1/generate/fusion-video"
PROMPT = "/api/v1/generate/video-from-prompt"


@pytest.fixture
def queued(monkeypatch):
    from generation.services import jobs

    monkeypatch.setattr(jobs, "_enqueue", lambda job_id, delay=0: None)


def test_a_misspelt_field_and_a_file_the_endpoint_does_not_take_are_named(client, queued, astronaut_path, short_speech_wav):
    response = client.post(PROMPT, {"prompt": "Hello there.", "emotoin": "happy", "image": upload(astronaut_path),
                                    "audio": upload(short_speech_wav)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ignored_fields"] == ["audio", "emotoin"]
    job = GenerationJob.objects.get(id=body["task_id"])
    assert job.params["emotion"] == "neutral" and not job.audio.name  # neither took effect
    status = client.get(f"/api/v1/status/{job.id}").json()["data"]
    assert status["notes"][0] == "ignored unknown fields: audio, emotoin"


def test_a_request_of_known_fields_ignores_nothing(client, queued, astronaut_path, short_speech_wav):
    response = client.post(FUSION, {"image": upload(astronaut_path), "audio": upload(short_speech_wav), "emotion": "sad",
                                    "backgroundMode": "blur", "captions": "none"})
    assert response.status_code == 200, response.content
    assert response.json()["ignored_fields"] == []
    job = GenerationJob.objects.get(id=response.json()["task_id"])
    assert "ignored_fields" not in job.params
    assert not any(note.startswith("ignored") for note in client.get(f"/api/v1/status/{job.id}").json()["data"]["notes"])


def test_a_retry_with_a_different_typo_is_the_same_request(client, queued):
    first = client.post(PROMPT, {"prompt": "Hello there.", "stlye": "calm"}, HTTP_IDEMPOTENCY_KEY="k-1").json()
    again = client.post(PROMPT, {"prompt": "Hello there.", "sytle": "calm"}, HTTP_IDEMPOTENCY_KEY="k-1").json()
    assert again["task_id"] == first["task_id"] and again["ignored_fields"] == ["stlye"]  # the stored job's
    assert GenerationJob.objects.count() == 1


def test_ignored_names_are_kept_short_and_few(client, queued):
    fields = {"prompt": "Hello there.", "x" * 500: "1", **{f"extra{i:02d}": "1" for i in range(30)}}
    ignored = client.post(PROMPT, fields).json()["ignored_fields"]
    assert len(ignored) == 21 and ignored[-1] == "... 11 more"
    assert all(len(name) <= 64 for name in ignored) and ignored[0] == "extra00"
