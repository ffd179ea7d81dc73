"""gunicorn's threaded worker, accepting a connection only when it can start on it soon.

Every web process polls the same listening socket. Stock gthread accepts whatever it is
woken for, so under a burst the first process to run takes most of the connections and
queues them behind its own work while its siblings idle (measured: one process of three
doing 80% of a 50-upload burst, and a submit p95 of 280 ms against 180-200 ms in
back-to-back runs with this rule). This worker leaves a connection in the kernel's accept
queue, where an idle sibling can take it, while all of its threads are busy or while a
request already waits for a turn to run Django code (paksatalker_site/gate.py).
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker

from paksatalker_site.gate import GATE


class FreeThreadWorker(ThreadWorker):
    def init_process(self):
        self.busy_threads = 0  # changed on the main loop only: enqueue and finish run there
        super().init_process()

    def can_start_soon(self) -> bool:
        return self.busy_threads < self.cfg.threads and GATE.pending <= GATE.slots

    def set_accept_enabled(self, enabled):
        # gunicorn's loop asks to accept again on every pass; the answer waits for a free thread.
        super().set_accept_enabled(enabled and self.can_start_soon())

    def enqueue_req(self, conn):
        self.busy_threads += 1
        super().enqueue_req(conn)
        if not self.can_start_soon():
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.busy_threads -= 1
        super().finish_request(conn, fs)
