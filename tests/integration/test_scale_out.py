"""Many workers on PostgreSQL + Redis: every job completes once; a SIGKILLed
worker loses nothing (the reaper re-queues what it held)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.service import Service

pytestmark = [pytest.mark.slow, pytest.mark.integration]

JOBS = 20


def _statuses(service: Service, ids: list[str]) -> list[dict]:
    return [requests.get(f"{service.url}/api/v1/status/{i}", timeout=30).json()["data"] for i in ids]


def test_two_workers_on_postgres_and_redis(tmp_path, ci_services, fresh_database, astronaut_path, short_speech_wav):
    # Stale after 15 s, not less: a worker's first render (model and JIT loading) once went 4 s
    # without a heartbeat under the full suite's load, and the reaper re-queued a live job.
    service = Service(tmp_path / "svc", DATABASE_URL=fresh_database, REDIS_URL=ci_services["REDIS_URL"],
                      PAKSA_QUEUE_NAME=f"paksa-{uuid.uuid4().hex[:8]}", PAKSA_STALE_AFTER_SECONDS="15",
                      PAKSA_HEARTBEAT_SECONDS="0.5", PAKSA_REAPER_INTERVAL_SECONDS="60",
                      PAKSA_RATE_LIMIT_PER_MINUTE="0", OMP_NUM_THREADS="1", PAKSA_RENDER_THREADS="1")
    second = None
    try:
        service.start()
        second = service.start_worker("worker2.log")
        png, wav = astronaut_path.read_bytes(), short_speech_wav.read_bytes()

        def submit(n: int) -> str:
            r = requests.post(f"{service.url}/api/v1/generate/fusion-video",
                              files={"image": ("a.png", png), "audio": ("s.wav", wav)},
                              data={"resolution": "480p", "fps": "15", "expressionEngine": "none", "captions": "none"},
                              headers={"Idempotency-Key": f"scale-{n}"}, timeout=60)
            assert r.status_code == 200, r.text
            return r.json()["task_id"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(submit, range(JOBS)))
        assert len(set(ids)) == JOBS

        # Wait until the second worker has claimed a job, then kill it like a crashed machine.
        _wait_both_busy(fresh_database, deadline=time.monotonic() + 120)
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=10)

        # The remaining worker's periodic reaper (every minute) re-queues what the dead one held.
        deadline = time.monotonic() + 400
        while True:
            data = _statuses(service, ids)
            if all(d["status"] != "processing" for d in data):
                break
            assert time.monotonic() < deadline, [(d["task_id"], d["status"], d["stage"]) for d in data]
            time.sleep(1)
    finally:
        if second is not None and second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
        service.stop()

    assert [d["status"] for d in data] == ["completed"] * JOBS, [(d["status"], d["error"]) for d in data]
    attempts = {d["task_id"]: d["attempts"] for d in data}
    # Nobody ran twice, except the job the killed worker held, which ran exactly once more.
    victims = [i for i in ids if attempts[i] != 1]
    assert len(victims) == 1 and attempts[victims[0]] == 2, attempts
    logs = "".join((service.logs / name).read_text(errors="replace") for name in ("worker.log", "worker2.log"))
    assert f"job {victims[0]}: worker lost, re-queued" in logs
    for task_id in ids:
        assert logs.count(f"job {task_id} completed") == 1, task_id
    outputs = sorted(p.name for p in (service.data_dir / "media" / "outputs").iterdir())
    assert outputs == sorted(f"{i}.mp4" for i in ids)  # no .part leftovers


def _wait_both_busy(database_url: str, *, deadline: float) -> None:
    """Until two jobs are claimed at one instant: each worker (one process each) holds one."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM generation_generationjob "
                                "WHERE status = 'processing' AND started_at IS NOT NULL").fetchone()[0]
            if busy >= 2:
                return
            time.sleep(0.05)
    raise AssertionError("the two workers never held a job at the same time")
