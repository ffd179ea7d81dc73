"""The web worker takes a connection only while it has a free thread and no queue for a turn."""

from __future__ import annotations

import selectors
import socket
from types import SimpleNamespace

import pytest

from paksatalker_site import gate
from paksatalker_site.gworker import FreeThreadWorker


@pytest.fixture
def worker():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    bare = FreeThreadWorker.__new__(FreeThreadWorker)  # gunicorn's constructor needs an arbiter
    bare.cfg = SimpleNamespace(threads=2)
    bare.sockets = [listener]
    bare.poller = selectors.DefaultSelector()
    bare._accepting = False
    bare.busy_threads = 0
    yield bare
    bare.poller.close()
    listener.close()


def _listening(worker) -> bool:
    return worker._accepting and worker.sockets[0] in {key.fileobj for key in worker.poller.get_map().values()}


def test_accepts_while_a_thread_is_free(worker):
    worker.set_accept_enabled(True)
    assert _listening(worker)
    worker.busy_threads = 2
    worker.set_accept_enabled(True)  # gunicorn's loop asks again on every pass
    assert not _listening(worker)
    worker.busy_threads = 1
    worker.set_accept_enabled(True)
    assert _listening(worker)


def test_stops_accepting_while_requests_queue_for_a_turn(worker, monkeypatch):
    monkeypatch.setattr(gate.GATE, "pending", gate.GATE.slots + 1)
    worker.set_accept_enabled(True)
    assert not _listening(worker)
    monkeypatch.setattr(gate.GATE, "pending", gate.GATE.slots)  # one running, one waiting: still fine
    worker.set_accept_enabled(True)
    assert _listening(worker)


def test_never_accepts_when_gunicorn_stops_it(worker):
    worker.set_accept_enabled(True)
    worker.set_accept_enabled(False)  # shutdown
    assert not _listening(worker)
