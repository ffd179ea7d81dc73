"""A real PaksaTalker service on loopback, as `make run` starts it: gunicorn and Huey
workers as separate processes on a temporary data directory. Used by `make bench`
(load, fuzz) and by the end-to-end tests (tests/service.py)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalService:
    """``with LocalService(tmp) as service: service.url``, or start()/stop() by hand."""

    def __init__(self, data_dir: Path, *, worker: bool = True, web_workers: int = 1,
                 app: str = "paksatalker_site.wsgi:application", **env: str):
        """``web_workers`` gunicorn processes serving ``app`` (the rest of gunicorn.conf.py applies);
        ``env`` adds variables."""
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.with_worker = worker
        self.web_workers = web_workers
        self.app = app
        self.env = {**os.environ, "PAKSA_DATA_DIR": str(data_dir), "PAKSA_HUEY_IMMEDIATE": "0",
                    "DJANGO_SETTINGS_MODULE": "paksatalker_site.settings",
                    "PAKSA_WEB_WORKERS": str(web_workers), **env}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.worker: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=True)

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = (self.logs / log_name).open("ab")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        self._procs.append(proc)
        return proc

    def start(self) -> LocalService:
        try:
            self.manage("migrate", "--noinput", "-v", "0")
            if self.with_worker:
                self.start_worker()
            web_log = self.logs / "web.log"
            self._web_log_start = web_log.stat().st_size if web_log.exists() else 0
            self.web = self._spawn([sys.executable, "-m", "gunicorn", self.app, "--bind",
                                    f"127.0.0.1:{self.port}"], "web.log")
            # Up once every gunicorn worker has done its warm-up (gunicorn.conf.py logs it).
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if self._ready_workers() >= self.web_workers and self._answers():
                    return self
                time.sleep(0.2)
            raise RuntimeError("the web server did not start: " + (self.logs / "web.log").read_text()[-2000:])
        except BaseException:
            self.stop()
            raise

    def _ready_workers(self) -> int:
        with (self.logs / "web.log").open("rb") as log:
            log.seek(self._web_log_start)
            return len(re.findall(rb"worker \d+ ready", log.read()))

    def web_worker_pids(self) -> list[int]:
        """The gunicorn master's worker processes (Linux: /proc/<pid>/task/<pid>/children).

        Workers are forks of the master and keep its command line (or, with setproctitle
        installed, read "gunicorn: worker"); its other children do not (multiprocessing's
        resource tracker, started for the expression checks' child)."""
        if self.web is None:
            return []
        master = self.web.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        argv = Path(f"/proc/{master}/cmdline").read_bytes()
        return [pid for pid in map(int, children) if _is_worker(_cmdline(pid), argv)]

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/v1/voices", timeout=5).status_code < 500  # 401 with keys is up too
        except requests.RequestException:
            return False

    def start_worker(self, log_name: str = "worker.log") -> subprocess.Popen:
        """One more `run_huey` consumer; the first one started is ``self.worker``."""
        proc = self._spawn([sys.executable, "manage.py", "run_huey"], log_name)
        if self.worker is None or self.worker.poll() is not None:
            self.worker = proc
        return proc

    def kill_worker(self, proc: subprocess.Popen | None = None) -> None:
        """SIGKILL a consumer and its worker processes: a crashed machine, no clean-up."""
        proc = proc or self.worker
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._procs.clear()

    def wait_for(self, task_id: str, *, statuses=("completed", "failed", "cancelled"), timeout: float = 180, until=None) -> dict:
        """Poll /status until the task reaches one of ``statuses`` (or ``until(data)`` is true)."""
        deadline = time.monotonic() + timeout
        data: dict = {}
        while time.monotonic() < deadline:
            data = requests.get(f"{self.url}/api/v1/status/{task_id}", timeout=5).json()["data"]
            if data["status"] in statuses or (until and until(data)):
                return data
            time.sleep(0.25)
        raise AssertionError(f"task {task_id} still {data} after {timeout} s")


def _is_worker(cmdline: bytes, master_argv: bytes) -> bool:
    return cmdline == master_argv or cmdline.startswith(b"gunicorn: worker")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it has exited
        return b""
