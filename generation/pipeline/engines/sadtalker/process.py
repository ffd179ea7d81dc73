"""Running an external engine program: process group, incremental output, tqdm progress.

Used by the SadTalker adapter. The child runs in a new session so cancel and
timeout can kill its whole process group (it may start its own children).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from generation.pipeline.errors import EngineFailed
from generation.pipeline.types import ProgressFn

logger = logging.getLogger(__name__)

# Rough share of CPU wall time per SadTalker stage, for one progress bar across them.
STAGE_WEIGHTS = {"landmark Det": 4, "3DMM Extraction In Video": 8, "mel": 1, "audio2exp": 2,
                 "Face Renderer": 70, "seamlessClone": 10, "Face Enhancer": 25}
TQDM_RE = re.compile(r"(landmark Det|3DMM Extraction In Video|mel|audio2exp|Face Renderer|seamlessClone|Face Enhancer):+\s*(\d{1,3})%")
PROGRESS_INTERVAL_S = 0.5
KILL_GRACE_S = 3.0


def run_process(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float, stages: StageProgress,
                progress: ProgressFn, what: str) -> tuple[int, str]:
    """Run ``cmd`` to the end: (exit code, all output lines joined).

    ``progress`` is called at least every 0.5 s; if it raises (JobCancelled),
    or the wall-clock ``timeout`` passes (EngineFailed), the process group is killed.
    """
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        # strerror only: the exception's text names the interpreter's server path.
        raise EngineFailed(f"{what} could not start: {exc.strerror or type(exc).__name__}") from exc
    lines = LineCollector(proc)
    started = time.monotonic()
    try:
        while True:
            done = proc.poll() is not None
            for line in lines.drain(wait=0 if done else PROGRESS_INTERVAL_S / 2):
                stages.feed(line)
            progress(stages.percent, stages.label)
            if done:
                lines.join()
                break
            if time.monotonic() - started > timeout:
                raise EngineFailed(f"{what} timed out after {timeout:.0f} s")
    except BaseException:
        kill_group(proc)  # cancel, timeout, or anything else: leave nothing running
        raise
    for line in lines.drain(wait=0):
        stages.feed(line)
    return proc.returncode, lines.text()


class StageProgress:
    """Turns tqdm lines into one monotonic 0..95 progress across the expected stages."""

    def __init__(self, stages: list[str]):
        total = sum(STAGE_WEIGHTS[s] for s in stages)
        self.offsets, acc = {}, 0.0
        for s in stages:
            self.offsets[s] = (acc / total * 95.0, STAGE_WEIGHTS[s] / total * 95.0)
            acc += STAGE_WEIGHTS[s]
        self.percent = 0.0
        self.label = "SadTalker: starting"

    def feed(self, line: str) -> None:
        match = TQDM_RE.search(line)
        if not match or match.group(1) not in self.offsets:
            return
        stage, pct = match.group(1), min(100, int(match.group(2)))
        start, span = self.offsets[stage]
        value = start + span * pct / 100.0
        if value >= self.percent:  # a bar that restarts an earlier stage neither moves us back nor relabels
            self.percent = value
            self.label = f"SadTalker: {stage} {pct}%"


class LineCollector:
    """Reads both pipes on threads; splits on \\r and \\n so tqdm updates arrive as lines."""

    def __init__(self, proc: subprocess.Popen):
        self._lines: list[str] = []
        self._all: list[str] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(pipe,), daemon=True) for pipe in (proc.stdout, proc.stderr)]
        for t in self._threads:
            t.start()

    def _read(self, pipe) -> None:
        buf = b""
        for chunk in iter(lambda: pipe.read1(4096), b""):
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            self._push([p.decode(errors="replace") for p in parts if p.strip()])
        if buf.strip():
            self._push([buf.decode(errors="replace")])
        pipe.close()

    def _push(self, lines: list[str]) -> None:
        with self._cond:
            self._lines.extend(lines)
            self._all.extend(lines)
            self._cond.notify_all()

    def drain(self, wait: float) -> list[str]:
        with self._cond:
            if not self._lines and wait > 0:
                self._cond.wait(wait)
            out, self._lines = self._lines, []
            return out

    def join(self) -> None:
        # A grandchild that inherited the pipes could keep them open: do not wait forever.
        for t in self._threads:
            t.join(timeout=2.0)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self._all)


def kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        signal_group(proc.pid, signal.SIGKILL)  # leftovers of an exited leader
        return
    signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tail_line(text: str) -> str:
    """The last line of output that is not a progress bar (usually the error)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not TQDM_RE.search(ln)]
    return lines[-1][:300] if lines else "no output"
