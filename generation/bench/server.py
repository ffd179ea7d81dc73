"""A real PaksaTalker server on loopback for the load and fuzz benchmarks: gunicorn
(and optionally a Huey worker) on a temporary data directory, as `make run` starts them."""

from __future__ import annotations

import os
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


class BenchServer:
    """Context manager: ``with BenchServer(tmp, worker=False) as server: server.url``."""

    def __init__(self, data_dir: Path, *, worker: bool = True, web_workers: int = 2, **env: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.with_worker = worker
        self.web_workers = web_workers
        self.env = {**os.environ, "PAKSA_DATA_DIR": str(data_dir), "PAKSA_HUEY_IMMEDIATE": "0",
                    "DJANGO_SETTINGS_MODULE": "paksatalker_site.settings", "PAKSA_LOG_LEVEL": "WARNING", **env}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.logs = data_dir / "logs"
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> BenchServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / log_name).open("ab")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        self._procs.append(proc)
        return proc

    def start(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=300)
        if self.with_worker:
            self._spawn([sys.executable, "manage.py", "run_huey"], "worker.log")
        self._spawn([sys.executable, "-m", "gunicorn", "paksatalker_site.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                     "--workers", str(self.web_workers), "--worker-class", "gthread", "--threads", "8", "--timeout", "120"],
                    "web.log")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/voices", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("the web server did not start: " + (self.logs / "web.log").read_text()[-2000:])

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
