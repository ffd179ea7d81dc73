"""For work handed to another process (the render command's speech process)."""

from __future__ import annotations

import os
import threading
import time


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
