"""Jobs end to end through the API with Huey inline: submit, status, download, cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from generation.models import GenerationJob, JobStatus
from generation.pipeline import media
from generation.pipeline.render import SPAN_ENGINE_PREPARE
from tests.generation.helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)


def _submit(client, url: str, data: dict) -> str:
    response = client.post(url, data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["status"] == "processing"
    return body["task_id"]


def _status(client, task_id: str) -> dict:
    response = client.get(f"/api/v1/status/{task_id}")
    assert response.status_code == 200
    return response.json()["data"]


def _download(client, data: dict, tmp_path: Path) -> Path:
    response = client.get(data["video_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    out = tmp_path / "video.mp4"
    out.write_bytes(b"".join(response.streaming_content))
    return out


@pytest.mark.slow
def test_fusion_video_completes_with_matching_duration(client, astronaut_path, short_speech_wav, tmp_path):
    task_id = _submit(client, "/api/v1/generate/fusion-video",
                      {"image": upload(astronaut_path), "audio": upload(short_speech_wav), "resolution": "480p", "fps": "25"})
    data = _status(client, task_id)
    assert data["status"] == "completed", data
    assert data["progress"] == 100 and data["engine"] == "native"
    assert data["video_url"] == f"/api/v1/download/{task_id}.mp4"
    video = _download(client, data, tmp_path)
    info = media.probe(video)
    audio = media.probe(short_speech_wav)
    assert info.has_audio and info.video_codec == "h264" and info.pix_fmt == "yuv420p" and info.audio_codec == "aac"
    assert info.height == 480 and info.width == 480  # the astronaut is square
    assert abs(info.fps - 25) < 0.01
    assert abs(info.duration - audio.duration) <= 1 / 25 + 0.03
    # +faststart: the moov atom comes before the media data.
    head = video.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


@pytest.mark.slow
def test_range_requests_give_206(client, astronaut_path, short_speech_wav):
    task_id = _submit(client, "/api/v1/generate/fusion-video",
                      {"image": upload(astronaut_path), "audio": upload(short_speech_wav), "resolution": "480p"})
    url = _status(client, task_id)["video_url"]
    full = b"".join(client.get(url).streaming_content)
    partial = client.get(url, HTTP_RANGE="bytes=100-199")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 100-199/{len(full)}"
    assert b"".join(partial.streaming_content) == full[100:200]
    suffix = client.get(url, HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206 and b"".join(suffix.streaming_content) == full[-10:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(full) + 10}-")
    assert beyond.status_code == 416 and beyond.json()["success"] is False


@pytest.mark.slow
def test_video_from_prompt_speaks_offline_with_default_avatar(client, tmp_path):
    task_id = _submit(client, "/api/v1/generate/video-from-prompt", {"prompt": "Good morning, everyone.", "resolution": "480p"})
    data = _status(client, task_id)
    assert data["status"] == "completed", data
    assert data["tts_provider"] == "espeak-ng"  # no network here: the offline provider spoke
    job = GenerationJob.objects.get(id=task_id)
    assert job.params["default_avatar"] is True
    info = media.probe(_download(client, data, tmp_path))
    assert info.has_audio and abs(info.duration - job.audio_duration) <= 1 / 25 + 0.03


@pytest.mark.slow
def test_faceless_photo_falls_back_to_still_and_says_why(client, faceless_path, short_speech_wav):
    task_id = _submit(client, "/api/v1/generate/fusion-video", {"image": upload(faceless_path), "audio": upload(short_speech_wav), "resolution": "480p"})
    data = _status(client, task_id)
    assert data["status"] == "completed"
    assert data["engine"] == "still"
    reasons = {item["engine"]: item["reason"] for item in data["fallback_reasons"]}
    assert "face" in reasons["native"]


def test_cancel_stops_a_running_render(client, astronaut_path, speech_wav, settings, monkeypatch):
    """A render in a worker thread stops mid-render on the cancel request (it does not run to the end)."""
    from huey.contrib.djhuey import HUEY

    from generation.services import running

    ends = []  # how the worker's render ended: stopped by the cancel, or ran to completion
    real_cancelled, real_complete = running.job_mark_cancelled, running.job_complete
    monkeypatch.setattr(running, "job_mark_cancelled", lambda **kw: ends.append("cancelled") or real_cancelled(**kw))
    monkeypatch.setattr(running, "job_complete", lambda **kw: ends.append("completed") or real_complete(**kw))

    HUEY.immediate = False  # queue it, then run it ourselves in a thread
    try:
        task_id = _submit(client, "/api/v1/generate/fusion-video",
                          {"image": upload(astronaut_path), "audio": upload(speech_wav), "resolution": "1080p", "fps": "60"})
    finally:
        HUEY.immediate = True
    from generation.services import job_run

    worker = threading.Thread(target=job_run, kwargs={"job_id": task_id})
    worker.start()
    # The engine is at work once progress reaches its span: the stage then moves from
    # "Rendering (native)" to the engine's own ("animating") within milliseconds.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _status(client, task_id)["progress"] < SPAN_ENGINE_PREPARE[0]:
        time.sleep(0.1)
    assert _status(client, task_id)["progress"] >= SPAN_ENGINE_PREPARE[0]
    response = client.post(f"/api/v1/status/{task_id}/cancel")
    assert response.status_code == 200 and response.json()["data"]["status"] == "cancelled"
    worker.join(timeout=120)  # a guard against a hang, not a measure: the render takes far less
    assert not worker.is_alive()
    assert ends == ["cancelled"]  # JobCancelled ended the render; it never reached the store step
    job = GenerationJob.objects.get(id=task_id)
    assert job.status == JobStatus.CANCELLED and not job.output.name
    assert client.post(f"/api/v1/status/{task_id}/cancel").status_code == 200  # idempotent
    assert not any(Path(settings.WORK_DIR).rglob("*.mp4"))


def test_progress_never_goes_backwards(client, astronaut_path, short_speech_wav):
    from huey.contrib.djhuey import HUEY

    from generation.services import job_claim, job_progress_update

    HUEY.immediate = False
    try:
        task_id = _submit(client, "/api/v1/generate/fusion-video", {"image": upload(astronaut_path), "audio": upload(short_speech_wav)})
    finally:
        HUEY.immediate = True
    token = job_claim(job_id=task_id)
    job_progress_update(job_id=task_id, token=token, progress=40, stage="Rendering")
    job_progress_update(job_id=task_id, token=token, progress=10, stage="Retrying")
    data = _status(client, task_id)
    assert data["progress"] == 40 and data["stage"] == "Retrying"


@pytest.mark.slow
def test_captions_for_known_text_are_downloadable(client, astronaut_path):
    task_id = _submit(client, "/api/v1/generate/fusion-video",
                      {"image": upload(astronaut_path), "text": "Hello there. Nice to meet you.", "resolution": "480p"})
    data = _status(client, task_id)
    assert data["status"] == "completed", data
    assert data["captions"]["vtt_url"] == f"/api/v1/download/{task_id}.vtt"
    vtt = b"".join(client.get(data["captions"]["vtt_url"]).streaming_content).decode()
    assert vtt.startswith("WEBVTT") and "Hello there." in vtt and "Nice to meet you." in vtt
    srt = client.get(data["captions"]["srt_url"])
    assert srt.status_code == 200 and "-->" in b"".join(srt.streaming_content).decode()


@pytest.mark.slow
def test_uploaded_audio_without_text_states_no_captions(client, astronaut_path, short_speech_wav):
    task_id = _submit(client, "/api/v1/generate/fusion-video",
                      {"image": upload(astronaut_path), "audio": upload(short_speech_wav), "resolution": "480p"})
    data = _status(client, task_id)
    assert data["captions"] == {}
    assert any("no captions" in note for note in data["notes"])
    assert client.get(f"/api/v1/download/{task_id}.vtt").status_code == 404


@pytest.mark.slow
def test_prompt_in_another_language_is_spoken_and_captioned(client, monkeypatch):
    from voices import tts

    # No network, whatever this machine has: the online providers fail and the job says why.
    for name in ("HTTPS_PROXY", "https_proxy", "WSS_PROXY", "wss_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    def refuse(address, timeout=None):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(tts.socket, "create_connection", refuse)
    tts.reset_reachability_cache()
    text = "Guten Morgen. Wie geht es Ihnen heute?"
    task_id = _submit(client, "/api/v1/generate/video-from-prompt", {"prompt": text, "voice": "de-DE-KatjaNeural", "resolution": "480p"})
    data = _status(client, task_id)
    tts.reset_reachability_cache()
    assert data["status"] == "completed", data
    assert data["tts_provider"] == "espeak-ng"
    skipped = [note for note in data["notes"] if note.startswith("TTS ")]
    assert len(skipped) == 2 and "edge-tts" in skipped[0] and "gtts" in skipped[1].lower(), data["notes"]
    assert any(note.startswith("native:") and "rasteriser" in note for note in data["notes"]), data["notes"]
    vtt = b"".join(client.get(data["captions"]["vtt_url"]).streaming_content).decode()
    assert "Guten Morgen." in vtt and "heute?" in vtt


# --- language and lip sync -----------------------------------------------------------


def _queued(client, url: str, data: dict) -> str:
    """Submit without running the render (the worker is not called)."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    try:
        return _submit(client, url, data)
    finally:
        HUEY.immediate = True


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_language_reaches_the_render_request(client, astronaut_path, short_speech_wav, tmp_path):
    from generation.services.running import _render_request

    fusion = _queued(client, "/api/v1/generate/fusion-video",
                     {"image": upload(astronaut_path), "audio": upload(short_speech_wav), "transcript": "Hello world.",
                      "language": "pt_br"})
    prompt = _queued(client, "/api/v1/generate/video-from-prompt", {"prompt": "Hola.", "voice": "es-ES-ElviraNeural", "language": "es"})
    job = GenerationJob.objects.get(id=fusion)
    assert job.params["language"] == "pt-BR"  # stored as a standard BCP-47 tag
    assert _render_request(job, _dir(tmp_path / "a")).language == "pt-BR"
    assert _render_request(GenerationJob.objects.get(id=prompt), _dir(tmp_path / "b")).language == "es"
    plain = _queued(client, "/api/v1/generate/video-from-prompt", {"prompt": "Hello.", "language": ""})
    assert _render_request(GenerationJob.objects.get(id=plain), _dir(tmp_path / "c")).language == ""  # detect, else English


@pytest.mark.parametrize("url", ["/api/v1/generate/fusion-video", "/api/v1/generate/video-from-prompt"])
@pytest.mark.parametrize("language", ["english", "e", "en--US", "12", "x" * 100])
def test_a_malformed_language_is_422_naming_the_field(client, url, language):
    response = client.post(url, {"text": "Hello.", "prompt": "Hello.", "language": language})
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and body["detail"].startswith("language:")
    assert not GenerationJob.objects.exists()


LIP_SYNC_CASES = {
    # An espeak-ng prompt in Spanish: libespeak-ng's own phone events time the mouth.
    "prompt-es": ("tts-events", "es-ES", "voice"),
    # Uploaded German espeak-ng speech with its transcript: espeak-ng's synthesis warped onto it.
    "upload-de": ("align-dtw", "de", "given"),
    # Audio alone: phones decoded from the sound, bilabial closures found in the signal.
    "audio-only": ("allphone", "", "none"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", LIP_SYNC_CASES)
def test_status_shows_how_the_lips_were_timed(client, astronaut_path, media_dir, case):
    from tests.media_factory import PHRASES, espeak_wav

    options = {"resolution": "480p", "fps": "15", "expressionEngine": "none"}
    german = espeak_wav(media_dir / "phrase-de.wav", PHRASES["de"], voice="de")
    if case == "prompt-es":
        task_id = _submit(client, "/api/v1/generate/video-from-prompt",
                          {"prompt": PHRASES["es"], "voice": "es-ES-ElviraNeural", **options})
    elif case == "upload-de":
        task_id = _submit(client, "/api/v1/generate/fusion-video",
                          {"image": upload(astronaut_path), "audio": upload(german), "transcript": PHRASES["de"], "language": "de", **options})
    else:
        task_id = _submit(client, "/api/v1/generate/fusion-video", {"image": upload(astronaut_path), "audio": upload(german), **options})
    data = _status(client, task_id)
    assert data["status"] == "completed", data
    method, language, source = LIP_SYNC_CASES[case]
    lip_sync = data["lip_sync"]
    assert (lip_sync["method"], lip_sync["language"], lip_sync["language_source"]) == (method, language, source), lip_sync
    assert isinstance(lip_sync["notes"], list) and all(isinstance(note, str) for note in lip_sync["notes"])
    if case == "prompt-es":
        assert data["tts_provider"] == "espeak-ng"
        assert any("espeak-events" in note for note in lip_sync["notes"])
