"""Expression engine statuses: checked in a spawned child for web processes, cached here."""

from __future__ import annotations

import os

import pytest

from expressions.engines import registry


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(registry, "_cache", {})


def test_prefetch_checks_in_a_child_and_this_process_reuses_the_answer(tmp_path, monkeypatch):
    here = []
    monkeypatch.setattr(registry, "_check_all", lambda *args: here.append(args) or {})
    assert registry.engine_statuses_prefetch(tmp_path)
    statuses = registry.engine_statuses(tmp_path)
    assert here == []  # the models were loaded by the child (which runs the real checks), not here
    assert set(statuses) == set(registry.ENGINE_NAMES)


def test_prefetched_statuses_are_the_real_checks(tmp_path):
    assert registry.engine_statuses_prefetch(tmp_path)
    prefetched = registry.engine_statuses(tmp_path)
    assert prefetched == registry._check_all(tmp_path)
    assert not prefetched["mini_xception"].available or prefetched["mini_xception"].path  # a real file backs it


def _die(sender, models):
    os._exit(3)


def test_a_child_that_dies_leaves_the_checks_to_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_child_target", _die)
    assert not registry.engine_statuses_prefetch(tmp_path, timeout=30)
    here = []
    monkeypatch.setattr(registry, "_check_all", lambda *args: here.append(args) or {name: None for name in args[1]})
    registry.engine_statuses(tmp_path)
    assert len(here) == 1  # nothing was cached: the checks ran in this process
