"""A real PaksaTalker service for end-to-end tests: gunicorn + a Huey consumer as
separate processes on a temporary data directory, like `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, data_dir: Path, **env: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PAKSA_DATA_DIR": str(data_dir), "PAKSA_HUEY_IMMEDIATE": "0", "DJANGO_SETTINGS_MODULE": "paksatalker_site.settings", **env}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=True)

    def start(self) -> Service:
        self.manage("migrate", "--noinput", "-v", "0")
        self.start_worker()
        log = (self.logs / "web.log").open("ab")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "paksatalker_site.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--worker-class", "gthread", "--threads", "8", "--timeout", "120"],
            cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/voices", timeout=2).status_code < 500:  # 401 with keys is up too
                    return self
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the web server did not start: " + (self.logs / "web.log").read_text()[-2000:])

    def start_worker(self) -> None:
        log = (self.logs / "worker.log").open("ab")
        self.worker = subprocess.Popen([sys.executable, "manage.py", "run_huey"], cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)

    def kill_worker(self) -> None:
        """SIGKILL the consumer and its worker processes: a crashed machine, no clean-up."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)

    def wait_for(self, task_id: str, *, statuses=("completed", "failed", "cancelled"), timeout: float = 180, until=None) -> dict:
        deadline = time.monotonic() + timeout
        data: dict = {}
        while time.monotonic() < deadline:
            data = requests.get(f"{self.url}/api/v1/status/{task_id}", timeout=5).json()["data"]
            if data["status"] in statuses or (until and until(data)):
                return data
            time.sleep(0.25)
        raise AssertionError(f"task {task_id} still {data} after {timeout} s")
