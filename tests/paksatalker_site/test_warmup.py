"""A web process warms up before it serves: URL tree, lazy imports, probes, engine checks
(those that load models in one throwaway child of the master)."""

from __future__ import annotations

import os

import pytest
import torch
from django.db import connections

from expressions.engines import registry
from generation import engines
from generation.pipeline import media
from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, checkpoint_state_dict
from paksatalker_site import warmup


def test_app_warm_probes_once_and_leaves_the_connections_open(monkeypatch):
    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    media.ffmpeg_version.cache_clear()
    warmup.app_warm()
    # Importing the app (a test does, inside its transaction) keeps the caller's connection;
    # gunicorn.conf.py's pre_fork closes the master's before each fork.
    assert closed == []
    assert media.ffmpeg_version.cache_info().currsize == 1  # probed once, inherited by the workers


def test_worker_warm_runs_every_engine_check(monkeypatch):
    checked = []

    class Engine:
        def __init__(self, name, fails=False):
            self.name, self.fails = name, fails

        def availability(self):
            checked.append(self.name)
            if self.fails:
                raise RuntimeError("broken checkpoint")

    monkeypatch.setattr(engines, "engines_get", lambda: {"a": Engine("a", fails=True), "b": Engine("b")})
    monkeypatch.setattr("expressions.selectors.expression_capabilities", lambda: checked.append("expressions"))
    warmup.worker_warm()  # a crashing check is logged, and the rest still run
    assert checked == ["a", "b", "expressions"]


@pytest.fixture
def empty_caches(monkeypatch):
    monkeypatch.setattr(registry, "_cache", {})
    engines.engines_reset()
    yield
    engines.engines_reset()


def test_prefetch_checks_in_a_child_and_this_process_reuses_the_answer(tmp_path, monkeypatch, empty_caches):
    here = []
    monkeypatch.setattr(registry, "check_all", lambda *args: here.append(args) or {})
    assert warmup.model_checks_prefetch(tmp_path)
    statuses = registry.engine_statuses(tmp_path)
    assert here == []  # the models were loaded by the child (which runs the real checks), not here
    assert set(statuses) == set(registry.ENGINE_NAMES)


def test_prefetched_statuses_are_the_real_checks(tmp_path, empty_caches):
    assert warmup.model_checks_prefetch(tmp_path)
    prefetched = registry.engine_statuses(tmp_path)
    assert prefetched == registry.check_all(tmp_path)
    assert not prefetched["mini_xception"].available or prefetched["mini_xception"].path  # a real file backs it


def test_wav2lip_is_checked_in_the_child_and_this_process_holds_no_model(settings, tmp_path, monkeypatch, empty_caches):
    models = tmp_path / "models"
    (models / "wav2lip").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save({"state_dict": checkpoint_state_dict(Wav2LipGenerator())}, models / "wav2lip" / "wav2lip.pth")
    settings.MODELS_DIR = models
    monkeypatch.setenv("PAKSA_MODELS_DIR", str(models))  # what the spawned child's settings read
    assert warmup.model_checks_prefetch(models, timeout=120)
    wav2lip = engines.engines_get()["wav2lip"]
    answer = wav2lip.availability()
    assert answer.available and answer.detail["checkpoint"].endswith("wav2lip.pth")
    assert wav2lip.checkpoint == models / "wav2lip" / "wav2lip.pth" and not wav2lip.model_loaded


def _die(sender, models):
    os._exit(3)


def test_a_child_that_dies_leaves_the_checks_to_this_process(tmp_path, monkeypatch, empty_caches):
    monkeypatch.setattr(warmup, "_model_checks_into", _die)
    assert not warmup.model_checks_prefetch(tmp_path, timeout=30)
    assert engines.engines_get()["wav2lip"].checkpoint is None  # nothing adopted: availability() checks here
    here = []
    monkeypatch.setattr(registry, "check_all", lambda *args: here.append(args) or {name: None for name in args[1]})
    registry.engine_statuses(tmp_path)
    assert len(here) == 1  # nothing was cached: the checks ran in this process
