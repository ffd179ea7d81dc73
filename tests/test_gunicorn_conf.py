"""gunicorn.conf.py: the web tier's settings, read by make run, docs/deployment.md's web node and the tests' service."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_settings_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PAKSA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAKSA_WEB_WORKERS", "5")
    monkeypatch.setenv("PAKSA_WEB_THREADS", "3")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"]) == (5, 3)
    assert conf["worker_class"] == "gthread"  # stock: no worker class of our own
    # No more connections than threads: the rest wait in the kernel's queue for a free process.
    assert (conf["worker_connections"], conf["keepalive"]) == (3, 0)
    assert conf["preload_app"] is True
    assert conf["control_socket"] == str(tmp_path / "gunicorn.ctl")  # per installation, not per user


def test_a_worker_reports_ready_after_its_warm_up(monkeypatch):
    calls = []
    monkeypatch.setattr("paksatalker_site.warmup.worker_warm", lambda: calls.append("warm"))

    class Log:
        def info(self, message, *args):
            calls.append(message % args)

    class Worker:
        pid = 42
        log = Log()

    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"](Worker())
    assert calls == ["warm", "worker 42 ready"]  # LocalService waits for this line


def test_workers_start_with_the_loaded_app_frozen_out_of_the_collector(monkeypatch):
    import gc

    monkeypatch.setattr("paksatalker_site.warmup.worker_warm", lambda: None)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        conf["pre_fork"](None, None)
        frozen_in_master = gc.get_freeze_count()
        gc.unfreeze()

        class Worker:
            pid = 42
            log = type("Log", (), {"info": lambda self, *args: None})()

        conf["post_worker_init"](Worker())
        assert frozen_in_master > 1000 and gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_the_master_closes_its_database_connections_before_each_fork(monkeypatch):
    closed = []
    monkeypatch.setattr("django.db.connections.close_all", lambda: closed.append(True))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    try:
        conf["pre_fork"](None, None)
    finally:
        import gc

        gc.unfreeze()
    assert closed == [True]  # a forked worker must not share the master's connections
