"""For work handed to another process (the render command's speech process, the
web master's one-off checks)."""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)


def exit_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Called first in a worker process: end it once ``parent_pid`` is gone.

    A killed parent never gets to stop its workers, and a pool worker waiting for
    work would wait forever (it holds its own queue's write end, so it never reads EOF).
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def answer_from_child(target, *args, name: str, timeout: float):
    """Run ``target(sender, *args)`` in a spawned child and return what it sends, or None
    when it dies, hangs past ``timeout`` seconds or sends nothing.

    A fresh interpreter, not a fork: MediaPipe's graphs abort in a forked copy of a process
    whose MediaPipe already started threads, and torch's thread pools do not survive a fork.
    Whatever the child loads (models, for one check) leaves with it. ``target`` must be a
    module-level function, so the child finds it by import.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=target, args=(sender, *args), name=name, daemon=True)
    child.start()
    sender.close()
    try:
        return receiver.recv() if receiver.poll(timeout) else None
    except EOFError:  # the child died before answering
        return None
    finally:
        receiver.close()
        child.join(5)
        if child.is_alive():
            logger.warning("%s did not exit; killing it", name)
            child.kill()
            child.join()
