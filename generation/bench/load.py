"""Bounded load test against a real server on loopback: ``clients`` concurrent
submissions, then each client polls its task's status ``polls`` times. A fixed
number of requests: it stops by itself. Reports accepted / 503 / errors and the
p50/p95 latency of submit and status."""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

logger = logging.getLogger(__name__)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 1)


def _face_png() -> bytes:
    from generation.bench.media import astronaut_png

    with tempfile.TemporaryDirectory() as tmp:
        return astronaut_png(Path(tmp) / "a.png").read_bytes()


def run_load(url: str, *, clients: int = 50, polls: int = 20, poll_interval: float = 0.5, with_image: bool = True) -> dict:
    """Drive an already running server at ``url``."""
    image = _face_png() if with_image else None
    barrier = threading.Barrier(clients)
    lock = threading.Lock()
    submit_s: list[float] = []
    status_s: list[float] = []
    counts = {"accepted": 0, "rejected_503": 0, "rate_limited_429": 0, "other_4xx": 0, "server_errors_5xx": 0,
              "connection_errors": 0, "status_requests": 0}

    def count(key: str) -> None:
        with lock:
            counts[key] += 1

    def client(n: int) -> None:
        session = requests.Session()
        files = {"image": ("face.png", io.BytesIO(image), "image/png")} if image else None
        barrier.wait()
        started = time.perf_counter()
        try:
            r = session.post(f"{url}/api/v1/generate/video-from-prompt", files=files,
                             data={"prompt": f"Load test number {n}.", "resolution": "480p", "expressionEngine": "none"},
                             timeout=60)
        except requests.RequestException:
            count("connection_errors")
            return
        with lock:
            submit_s.append(time.perf_counter() - started)
        if r.status_code == 200:
            count("accepted")
        elif r.status_code == 503:
            count("rejected_503")
        elif r.status_code == 429:
            count("rate_limited_429")
        elif r.status_code >= 500:
            count("server_errors_5xx")
        else:
            count("other_4xx")
        if r.status_code != 200:
            return
        task_id = r.json()["task_id"]
        for _ in range(polls):
            started = time.perf_counter()
            try:
                s = session.get(f"{url}/api/v1/status/{task_id}", timeout=30)
            except requests.RequestException:
                count("connection_errors")
                continue
            with lock:
                status_s.append(time.perf_counter() - started)
                counts["status_requests"] += 1
            if s.status_code >= 500:
                count("server_errors_5xx")
            time.sleep(poll_interval)

    wall = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return {
        **counts,
        "clients": clients,
        "poll_interval_s": poll_interval,
        "wall_s": round(time.perf_counter() - wall, 2),
        "submit_p50_ms": _percentile(submit_s, 50),
        "submit_p95_ms": _percentile(submit_s, 95),
        "status_p50_ms": _percentile(status_s, 50),
        "status_p95_ms": _percentile(status_s, 95),
        "targets": {"submit_p95_ms": 200, "status_p95_ms": 50, "server_errors_5xx": 0},
    }


def load_test(clients: int = 50, polls: int = 20, *, poll_interval: float = 0.5, with_worker: bool = False, with_image: bool = True) -> dict:
    """Start a server on a temporary data dir (rate limits off, room for every job) and load it.

    Without a worker the figures are the API tier's own; with one, rendering competes for the CPU.
    """
    from generation.bench.server import LocalService

    with tempfile.TemporaryDirectory() as tmp:
        env = {"PAKSA_RATE_LIMIT_PER_MINUTE": "0", "PAKSA_READ_RATE_LIMIT_PER_MINUTE": "0",
               "PAKSA_MAX_QUEUED_JOBS": str(max(100, clients * 2)), "PAKSA_TTS_PROVIDERS": "espeak"}
        with LocalService(Path(tmp), worker=with_worker, web_workers=2, PAKSA_LOG_LEVEL="WARNING", **env) as server:
            result = run_load(server.url, clients=clients, polls=polls, poll_interval=poll_interval, with_image=with_image)
    result["with_worker"] = with_worker
    result["with_image"] = with_image
    return result
