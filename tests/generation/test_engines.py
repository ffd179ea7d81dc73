"""The server's engines: Wav2Lip's check, made in a child process for the web tier."""

from __future__ import annotations

import torch

from generation import engines
from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, checkpoint_state_dict


def test_wav2lip_is_checked_in_a_child_and_this_process_holds_no_model(settings, tmp_path, monkeypatch):
    models = tmp_path / "models"
    (models / "wav2lip").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save({"state_dict": checkpoint_state_dict(Wav2LipGenerator())}, models / "wav2lip" / "wav2lip.pth")
    settings.MODELS_DIR = models
    monkeypatch.setenv("PAKSA_MODELS_DIR", str(models))  # what the spawned child's settings read
    engines.engines_reset()
    try:
        assert engines.engines_prefetch(timeout=120)
        wav2lip = engines.engines_get()["wav2lip"]
        answer = wav2lip.availability()
        assert answer.available and answer.detail["checkpoint"].endswith("wav2lip.pth")
        assert wav2lip.checkpoint == models / "wav2lip" / "wav2lip.pth" and not wav2lip.model_loaded
    finally:
        engines.engines_reset()


def test_a_child_that_dies_leaves_the_check_to_this_process(monkeypatch):
    monkeypatch.setattr(engines, "_wav2lip_check_into", _die)
    engines.engines_reset()
    try:
        assert not engines.engines_prefetch(timeout=30)
        assert engines.engines_get()["wav2lip"].checkpoint is None  # nothing adopted: availability() checks here
    finally:
        engines.engines_reset()


def _die(sender):
    import os

    os._exit(3)
