"""The engine chain through the API: capabilities say what can run, jobs record what ran and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from generation.engines import engines_reset
from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, checkpoint_state_dict
from tests.generation.helpers import upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAKE_SADTALKER = Path(__file__).parent / "pipeline" / "engines" / "sadtalker" / "fake_sadtalker"


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.MODELS_DIR = tmp_path / "models"
    (settings.MODELS_DIR / "wav2lip").mkdir(parents=True)
    engines_reset()
    yield settings.MODELS_DIR
    engines_reset()


def _fusion(client, image: Path, audio: Path, **fields) -> dict:
    response = client.post("/api/v1/generate/fusion-video", {"image": upload(image), "audio": upload(audio), "resolution": "480p", **fields})
    assert response.status_code == 200, response.content
    return client.get(f"/api/v1/status/{response.json()['task_id']}").json()["data"]


def _reasons(data: dict) -> dict[str, str]:
    return {item["engine"]: item["reason"] for item in data["fallback_reasons"]}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _assert_no_server_paths(value, *roots: Path) -> None:
    """No text a client sees holds an absolute server path (the project's, a temporary folder's, any)."""
    texts = list(_strings(value))
    assert texts
    for text in texts:
        assert not text.startswith("/"), text
        for root in roots:
            assert str(root) not in text, text


def test_valid_wav2lip_checkpoint_is_used_when_preferred(client, models_dir, astronaut_path, short_speech_wav):
    torch.manual_seed(0)
    torch.save({"state_dict": checkpoint_state_dict(Wav2LipGenerator())}, models_dir / "wav2lip" / "wav2lip.pth")
    caps = client.get("/api/v1/capabilities").json()["data"]
    assert caps["models"]["wav2lip2"] is True
    data = _fusion(client, astronaut_path, short_speech_wav, preferWav2Lip2="true")
    assert data["status"] == "completed", data
    assert data["engine"] == "wav2lip"


def test_broken_wav2lip_checkpoint_falls_back_to_native_with_reason(client, settings, models_dir, astronaut_path, short_speech_wav):
    (models_dir / "wav2lip" / "wav2lip.pth").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 435807851\n")
    caps = client.get("/api/v1/capabilities").json()["data"]
    assert caps["models"]["wav2lip2"] is False
    # A models folder outside the project reads as the setting that names it.
    assert caps["reasons"]["wav2lip"].startswith("PAKSA_MODELS_DIR/wav2lip/wav2lip.pth: is a Git LFS pointer")
    _assert_no_server_paths(caps, settings.BASE_DIR, models_dir)
    data = _fusion(client, astronaut_path, short_speech_wav, preferWav2Lip2="true")
    assert data["status"] == "completed" and data["engine"] == "native"
    assert "LFS pointer" in _reasons(data)["wav2lip"]
    _assert_no_server_paths([data["fallback_reasons"], data["notes"]], settings.BASE_DIR, models_dir, settings.WORK_DIR)


def test_reasons_name_project_folders_relative_to_the_project(client, settings, tmp_path, astronaut_path, short_speech_wav):
    settings.BASE_DIR = tmp_path / "project"
    settings.MODELS_DIR = settings.BASE_DIR / "models"
    (settings.MODELS_DIR / "wav2lip").mkdir(parents=True)
    engines_reset()
    try:
        caps = client.get("/api/v1/capabilities").json()["data"]
        assert caps["reasons"]["wav2lip"] == "models/wav2lip/: no wav2lip.pth or wav2lip_gan.pth"
        _assert_no_server_paths(caps, tmp_path)
        data = _fusion(client, astronaut_path, short_speech_wav, preprocess="crop")
        assert data["status"] == "completed" and _reasons(data)["wav2lip"] == "models/wav2lip/: no wav2lip.pth or wav2lip_gan.pth"
        _assert_no_server_paths(data["fallback_reasons"], tmp_path)
    finally:
        engines_reset()


def test_sadtalker_without_face_falls_through_recording_why(client, settings, models_dir, tmp_path, monkeypatch, astronaut_path, short_speech_wav):
    checkout = tmp_path / "SadTalker"
    shutil.copytree(FAKE_SADTALKER, checkout)
    (checkout / "checkpoints").mkdir()
    save_file({"w": np.zeros((4, 4), np.float32)}, str(checkout / "checkpoints" / "SadTalker_V0.0.2_256.safetensors"))
    for name in ("mapping_00229-model.pth.tar", "mapping_00109-model.pth.tar"):
        torch.save({"net": torch.zeros(3)}, checkout / "checkpoints" / name)
    settings.PAKSA_SADTALKER_DIR = str(checkout)
    engines_reset()
    caps = client.get("/api/v1/capabilities").json()["data"]
    assert caps["models"]["sadtalker"] is True and caps["models"]["sadtalker_weights"] is True

    monkeypatch.setenv("FAKE_SADTALKER_MODE", "noface")
    data = _fusion(client, astronaut_path, short_speech_wav, preprocess="crop")
    assert data["status"] == "completed" and data["engine"] == "native"
    reasons = _reasons(data)
    assert "face" in reasons["sadtalker"].lower()
    assert "wav2lip" in reasons  # no checkpoint: skipped, with its reason

    monkeypatch.setenv("FAKE_SADTALKER_MODE", "success")
    data = _fusion(client, astronaut_path, short_speech_wav, preprocess="crop")
    assert data["status"] == "completed" and data["engine"] == "sadtalker", data


def test_disabled_engines_are_recorded(client, settings, astronaut_path, short_speech_wav):
    settings.PAKSA_DISABLED_ENGINES = ("native",)
    data = _fusion(client, astronaut_path, short_speech_wav)
    assert data["engine"] == "still"
    assert "turned off" in _reasons(data)["native"]
