"""Bounded load test against a real server on loopback.

A burst is ``clients`` submissions fired at the same instant (each a prompt with the
512x512 astronaut PNG, 465 KB), after which every client polls its task's status
``polls`` times. One warm-up burst runs first and is not counted (it opens each server
thread's database connection); the figures pool the ``bursts`` that follow. A fixed
number of requests: it stops by itself.

The client is one asyncio loop (aiohttp) with the request bodies built before the
clock starts, so the load generator takes as little as possible of the CPU it shares
with the server on one machine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/generate/video-from-prompt"
TARGETS = {"submit_p95_ms": 200, "status_p95_ms": 50, "server_errors_5xx": 0}


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 1)


def _face_png() -> bytes:
    from generation.bench.media import astronaut_png

    with tempfile.TemporaryDirectory() as tmp:
        return astronaut_png(Path(tmp) / "a.png").read_bytes()


def multipart_body(fields: dict[str, str], image: bytes | None, boundary: str = "paksatalker-load-7MA4YWxk") -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type, as a browser's FormData sends it."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if image is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="face.png"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + image + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class LoadTally:
    submit_s: list[float] = field(default_factory=list)
    status_s: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("accepted", "rejected_503", "rate_limited_429", "other_4xx", "server_errors_5xx", "connection_errors", "status_requests"), 0))

    def count_status(self, code: int) -> None:
        if code == 200:
            self.counts["accepted"] += 1
        elif code == 503:
            self.counts["rejected_503"] += 1
        elif code == 429:
            self.counts["rate_limited_429"] += 1
        elif code >= 500:
            self.counts["server_errors_5xx"] += 1
        else:
            self.counts["other_4xx"] += 1


async def _burst(url: str, bodies: list[tuple[bytes, str]], polls: int, poll_interval: float, tally: LoadTally) -> None:
    import aiohttp

    start = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=60)

    async def client(session: aiohttp.ClientSession, body: bytes, content_type: str) -> None:
        await start.wait()
        started = time.perf_counter()
        try:
            async with session.post(url + SUBMIT_PATH, data=body, headers={"Content-Type": content_type}) as response:
                payload = await response.read()
        except (TimeoutError, aiohttp.ClientError):
            tally.counts["connection_errors"] += 1
            return
        tally.submit_s.append(time.perf_counter() - started)
        tally.count_status(response.status)
        if response.status != 200:
            return
        task_id = json.loads(payload)["task_id"]
        for _ in range(polls):
            await asyncio.sleep(poll_interval)
            started = time.perf_counter()
            try:
                async with session.get(f"{url}/api/v1/status/{task_id}") as status:
                    await status.read()
            except (TimeoutError, aiohttp.ClientError):
                tally.counts["connection_errors"] += 1
                continue
            tally.status_s.append(time.perf_counter() - started)
            tally.counts["status_requests"] += 1
            if status.status >= 500:
                tally.counts["server_errors_5xx"] += 1

    # One connection per client (limit=0), opened when its request is sent, as separate users would.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        tasks = [asyncio.create_task(client(session, body, content_type)) for body, content_type in bodies]
        await asyncio.sleep(0.1)  # every client is waiting on the start signal
        start.set()
        await asyncio.gather(*tasks)


def run_load(url: str, *, clients: int = 50, polls: int = 20, poll_interval: float = 0.5, bursts: int = 3,
             warmup: bool = True, with_image: bool = True) -> dict:
    """Drive an already running server at ``url``."""
    image = _face_png() if with_image else None
    fields = {"resolution": "480p", "expressionEngine": "none"}
    if warmup:
        asyncio.run(_burst(url, [multipart_body({"prompt": f"Warm-up {n}.", **fields}, image) for n in range(clients)],
                           0, poll_interval, LoadTally()))
    tally = LoadTally()
    burst_p95 = []
    wall = time.perf_counter()
    for burst in range(bursts):
        bodies = [multipart_body({"prompt": f"Load test {burst}.{n}.", **fields}, image) for n in range(clients)]
        before = len(tally.submit_s)
        asyncio.run(_burst(url, bodies, polls, poll_interval, tally))
        burst_p95.append(_percentile(tally.submit_s[before:], 95))
    return {
        **tally.counts,
        "clients": clients,
        "bursts": bursts,
        "poll_interval_s": poll_interval,
        "wall_s": round(time.perf_counter() - wall, 2),
        "submit_p50_ms": _percentile(tally.submit_s, 50),
        "submit_p95_ms": _percentile(tally.submit_s, 95),
        "submit_p95_per_burst_ms": burst_p95,
        "status_p50_ms": _percentile(tally.status_s, 50),
        "status_p95_ms": _percentile(tally.status_s, 95),
        "image_bytes": len(image) if image else 0,
        "targets": TARGETS,
    }


def load_test(clients: int = 50, polls: int = 20, *, bursts: int = 3, poll_interval: float = 0.5, with_worker: bool = False,
              with_image: bool = True) -> dict:
    """Start the service as `make run` does (gunicorn.conf.py's workers and threads) on a temporary
    data dir, with rate limits off and room for every job, and load it.

    Without a Huey worker the figures are the API tier's own; with one, rendering competes for the CPU.
    """
    from generation.bench.server import LocalService
    from paksatalker_site.env import web_workers

    workers = web_workers()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PAKSA_RATE_LIMIT_PER_MINUTE": "0", "PAKSA_READ_RATE_LIMIT_PER_MINUTE": "0",
               "PAKSA_MAX_QUEUED_JOBS": str(clients * (bursts + 1) * 2), "PAKSA_TTS_PROVIDERS": "espeak"}
        with LocalService(Path(tmp), worker=with_worker, web_workers=workers, PAKSA_LOG_LEVEL="WARNING", **env) as server:
            result = run_load(server.url, clients=clients, polls=polls, poll_interval=poll_interval, bursts=bursts,
                              with_image=with_image)
    result.update(with_worker=with_worker, with_image=with_image, web_workers=workers)
    return result
