"""Bounded load test against a real server on loopback.

A burst is ``clients`` submissions fired at the same instant (each a prompt with the
512x512 astronaut PNG, 465 KB), after which every client polls its task's status
``polls`` times. One warm-up burst runs first and is not counted (it opens each server
thread's database connection); the figures pool the ``bursts`` that follow. A fixed
number of requests: it stops by itself.

The client is one asyncio loop speaking plain HTTP/1.1, with the request bodies built
before the clock starts, so the load generator takes as little as possible of the CPU it
shares with the server on one machine. The result also gives the CPU each side spent
per submission, and each web process's share of the server's CPU.

load_test then fires the same bursts at a bare app (bare_app.py) served by the same gunicorn
settings: the same-run baseline for what the HTTP server, the kernel and the client cost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/generate/video-from-prompt"
# No 5xx; submit p95 at most 6x the bare app's in the same run (the shared machine's speed moves
# from run to run, the ratio much less); status polls answered in under 50 ms at p95.
TARGETS = {"server_errors_5xx": 0, "submit_p95_vs_baseline": 6.0, "status_p95_ms": 50.0}


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


# No answer, or one that is not HTTP: counted as a connection error.
ANSWER_ERRORS = (TimeoutError, OSError, ValueError, IndexError)


class HttpConnection:
    """One client's HTTP/1.1 connection: a request sent in one go, a response read by its
    Content-Length, and the connection kept for the next request unless the server closes
    it. Small on purpose, since the load generator shares the server's two cores: a raw
    socket through the event loop's sock_sendall/sock_recv, because asyncio's stream writer
    (Python 3.11) copies the unsent rest of a 465 KB body on every partial send. Client CPU
    per submission against the bare app (bare_app.py): about 0.52 ms, against 0.64 ms with
    asyncio streams; in a whole `make bench` burst, with connecting and scheduling, about 0.7 ms
    (aiohttp took 0.9-1.0 ms there)."""

    RECV_SIZE = 65536

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._buffer = b""

    async def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, bytes]:
        reused = self._sock is not None
        try:
            return await self._exchange(method, path, body, content_type)
        except ConnectionError:
            if not reused:
                raise
            self.close()  # the server ended an idle kept-alive connection: one retry on a new one
            return await self._exchange(method, path, body, content_type)

    async def _exchange(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self._sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (self.host, self.port))
            except BaseException:
                sock.close()
                raise
            self._sock, self._buffer = sock, b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        await loop.sock_sendall(self._sock, head.encode() + b"\r\n" + body)
        while (head_end := self._buffer.find(b"\r\n\r\n")) < 0:
            await self._receive("the server closed the connection without answering")
        status_line, *header_lines = self._buffer[:head_end].split(b"\r\n")
        self._buffer = self._buffer[head_end + 4:]
        status = int(status_line.split()[1])
        length, close = None, False
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if length is None:  # the body runs to the end of the connection
            while chunk := await loop.sock_recv(self._sock, self.RECV_SIZE):
                self._buffer += chunk
            length, close = len(self._buffer), True
        while len(self._buffer) < length:
            await self._receive("the server closed the connection mid-answer")
        payload, self._buffer = self._buffer[:length], self._buffer[length:]
        if close:
            self.close()
        return status, payload

    async def _receive(self, closed_message: str) -> None:
        chunk = await asyncio.get_running_loop().sock_recv(self._sock, self.RECV_SIZE)
        if not chunk:
            raise ConnectionError(closed_message)
        self._buffer += chunk

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def _burst(url: str, bodies: list[tuple[bytes, str]], polls: int, poll_interval: float, tally: LoadTally,
                 on_submitted=None) -> None:
    """``on_submitted()`` runs once every submission has its answer, before the polls go on."""
    from urllib.parse import urlsplit

    address = urlsplit(url)
    start = asyncio.Event()
    answered = 0

    def submission_answered() -> None:
        nonlocal answered
        answered += 1
        if answered == len(bodies) and on_submitted is not None:
            on_submitted()

    async def client(body: bytes, content_type: str) -> None:
        # One connection per client, opened when its request is sent, as separate users would.
        connection = HttpConnection(address.hostname, address.port)
        await start.wait()
        try:
            started = time.perf_counter()
            try:
                status, payload = await asyncio.wait_for(connection.request("POST", SUBMIT_PATH, body, content_type), 60)
            except ANSWER_ERRORS:
                tally.counts["connection_errors"] += 1
                submission_answered()
                return
            tally.submit_s.append(time.perf_counter() - started)
            submission_answered()
            tally.count_status(status)
            if status != 200:
                return
            task_id = json.loads(payload)["task_id"]
            for _ in range(polls):
                await asyncio.sleep(poll_interval)
                started = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(connection.request("GET", f"/api/v1/status/{task_id}"), 60)
                except ANSWER_ERRORS:
                    tally.counts["connection_errors"] += 1
                    connection.close()
                    continue
                tally.status_s.append(time.perf_counter() - started)
                tally.counts["status_requests"] += 1
                if status >= 500:
                    tally.counts["server_errors_5xx"] += 1
        finally:
            connection.close()

    tasks = [asyncio.create_task(client(body, content_type)) for body, content_type in bodies]
    await asyncio.sleep(0.1)  # every client is waiting on the start signal
    start.set()
    await asyncio.gather(*tasks)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SubmitCpu:
    """CPU spent from each burst's start signal until its last submission was answered."""

    server_pids: list[int]
    server_s: list[float] = field(default_factory=list)
    client_s: float = 0.0
    submissions: int = 0

    def __post_init__(self):
        self.server_s = [0.0] * len(self.server_pids)

    def start_burst(self, submissions: int):
        """Snapshot the CPU counters; the returned callback adds what was spent since."""
        self.submissions += submissions
        server_before = [process_cpu_seconds(pid) for pid in self.server_pids]
        client_before = time.process_time()

        def on_submitted():
            self.client_s += time.process_time() - client_before
            for index, pid in enumerate(self.server_pids):
                self.server_s[index] += process_cpu_seconds(pid) - server_before[index]

        return on_submitted

    def summary(self) -> dict:
        total = sum(self.server_s)
        per = 1000 / max(1, self.submissions)
        return {
            "client_cpu_ms_per_submit": round(self.client_s * per, 2),
            "server_cpu_ms_per_submit": round(total * per, 2) if self.server_pids else None,
            "server_cpu_share_per_process": [round(s / total, 3) for s in self.server_s] if total else [],
        }


def run_load(url: str, *, clients: int = 50, polls: int = 20, poll_interval: float = 0.5, bursts: int = 3,
             warmup: bool = True, with_image: bool = True, server_pids: list[int] | None = None) -> dict:
    """Drive an already running server at ``url``; ``server_pids`` (its web processes) adds their CPU figures."""
    image = _face_png() if with_image else None
    fields = {"resolution": "480p", "expressionEngine": "none"}
    if warmup:
        asyncio.run(_burst(url, [multipart_body({"prompt": f"Warm-up {n}.", **fields}, image) for n in range(clients)],
                           0, poll_interval, LoadTally()))
    tally = LoadTally()
    cpu = SubmitCpu(server_pids or [])
    burst_p95 = []
    wall = time.perf_counter()
    for burst in range(bursts):
        bodies = [multipart_body({"prompt": f"Load test {burst}.{n}.", **fields}, image) for n in range(clients)]
        before = len(tally.submit_s)
        asyncio.run(_burst(url, bodies, polls, poll_interval, tally, on_submitted=cpu.start_burst(len(bodies))))
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
        **cpu.summary(),
        "image_bytes": len(image) if image else 0,
        "targets": TARGETS,
    }


BARE_APP = "generation.bench.bare_app:application"


def load_test(clients: int = 50, polls: int = 20, *, bursts: int = 3, poll_interval: float = 0.5, with_worker: bool = False,
              with_image: bool = True) -> dict:
    """Start the service as `make run` does (gunicorn.conf.py's workers and threads) on a temporary
    data dir, with rate limits off and room for every job, and load it. Then the same bursts
    (without polls) against the bare baseline app (bare_app.py) served the same way.

    Without a Huey worker the figures are the API tier's own; with one, rendering competes for the CPU.
    """
    from generation.bench.server import LocalService
    from paksatalker_site.env import web_workers

    workers = web_workers()
    env = {"PAKSA_RATE_LIMIT_PER_MINUTE": "0", "PAKSA_READ_RATE_LIMIT_PER_MINUTE": "0",
           "PAKSA_MAX_QUEUED_JOBS": str(clients * (bursts + 1) * 2), "PAKSA_TTS_PROVIDERS": "espeak", "PAKSA_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as tmp:
        with LocalService(Path(tmp), worker=with_worker, web_workers=workers, **env) as server:
            result = run_load(server.url, clients=clients, polls=polls, poll_interval=poll_interval, bursts=bursts,
                              with_image=with_image, server_pids=server.web_worker_pids())
    with tempfile.TemporaryDirectory() as tmp:
        with LocalService(Path(tmp), worker=False, web_workers=workers, app=BARE_APP, **env) as bare:
            baseline = run_load(bare.url, clients=clients, polls=0, bursts=bursts, with_image=with_image,
                                server_pids=bare.web_worker_pids())
    result.update(with_worker=with_worker, with_image=with_image, web_workers=workers)
    result["baseline"] = {key: baseline[key] for key in ("submit_p50_ms", "submit_p95_ms", "server_cpu_ms_per_submit",
                                                         "client_cpu_ms_per_submit", "server_errors_5xx")}
    if result["submit_p95_ms"] and baseline["submit_p95_ms"]:
        result["submit_p95_vs_baseline"] = round(result["submit_p95_ms"] / baseline["submit_p95_ms"], 2)
    result["checks"] = load_checks(result)
    result["passed"] = all(check["pass"] for check in result["checks"].values())
    result["summary"] = load_summary(result)
    logger.info("load: %s", result["summary"])
    return result


def load_checks(result: dict) -> dict:
    """Each target with the figure measured and whether it was met; a figure that could not
    be measured (no submission answered, no baseline) fails its target."""
    measured = {name: result.get(name) for name in TARGETS}
    checks = {}
    for name, target in TARGETS.items():
        value = measured[name]
        if name == "server_errors_5xx":
            ok = value == target and result.get("connection_errors", 0) == 0
        elif name == "status_p95_ms":
            ok = value is not None and value < target
        else:
            ok = value is not None and value <= target
        checks[name] = {"value": value, "target": target, "pass": ok}
    return checks


def load_summary(result: dict) -> str:
    """One line: each figure against its target, then PASS or FAIL."""
    checks = result.get("checks") or load_checks(result)
    parts = [f"5xx {checks['server_errors_5xx']['value']} (connection errors {result.get('connection_errors', 0)}; target 0)",
             f"submit p95 {result.get('submit_p95_ms')} ms = {checks['submit_p95_vs_baseline']['value']}x the bare app's "
             f"{(result.get('baseline') or {}).get('submit_p95_ms')} ms (target <= {TARGETS['submit_p95_vs_baseline']:g}x)",
             f"status p95 {checks['status_p95_ms']['value']} ms (target < {TARGETS['status_p95_ms']:g})"]
    verdict = "PASS" if all(c["pass"] for c in checks.values()) else "FAIL: " + ", ".join(n for n, c in checks.items() if not c["pass"])
    return "; ".join(parts) + f" -> {verdict}"
