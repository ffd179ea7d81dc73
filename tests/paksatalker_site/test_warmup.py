"""A web process warms up before it serves: URL tree, lazy imports, probes, engine checks."""

from __future__ import annotations

from django.db import connections

from generation import engines
from generation.pipeline import media
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
