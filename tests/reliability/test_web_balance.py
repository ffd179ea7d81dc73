"""A web process with no free thread leaves new connections to its siblings
(gunicorn.conf.py: worker_connections = threads)."""

from __future__ import annotations

import pytest
import requests

from generation.bench.load import run_load
from tests.service import Service


@pytest.mark.slow
@pytest.mark.integration
def test_a_process_busy_with_an_event_stream_does_not_take_new_connections(tmp_path, astronaut_path):
    # Two processes of one thread each; an open event stream holds one of those threads.
    # With gthread's default of 1000 connections per process, that process would still accept
    # connections and park them behind the stream (for up to an hour); every request below
    # would then have about even odds of hanging.
    with Service(tmp_path, worker=False, web_workers=2, PAKSA_WEB_THREADS="1", PAKSA_RATE_LIMIT_PER_MINUTE="0",
                 PAKSA_LOG_LEVEL="WARNING") as service:
        assert len(service.web_worker_pids()) == 2  # the workers only, not the master's other children
        with astronaut_path.open("rb") as image:
            task_id = requests.post(f"{service.url}/api/v1/generate/video-from-prompt", data={"prompt": "Hello there."},
                                    files={"image": image}, timeout=30).json()["task_id"]
        with requests.get(f"{service.url}/api/v1/status/{task_id}/events", stream=True, timeout=30) as stream:
            assert stream.status_code == 200
            next(stream.iter_lines())  # the stream is open and its thread is taken
            for _ in range(12):
                assert requests.get(f"{service.url}/api/v1/voices", timeout=5).status_code == 200


@pytest.mark.bench
@pytest.mark.integration
def test_the_load_client_reports_each_web_process_share(tmp_path):
    with Service(tmp_path, worker=False, web_workers=3, PAKSA_WEB_THREADS="2", PAKSA_RATE_LIMIT_PER_MINUTE="0",
                 PAKSA_READ_RATE_LIMIT_PER_MINUTE="0", PAKSA_MAX_QUEUED_JOBS="1000", PAKSA_LOG_LEVEL="WARNING") as service:
        pids = service.web_worker_pids()
        result = run_load(service.url, clients=30, polls=1, poll_interval=0.05, bursts=2, server_pids=pids)
    assert len(pids) == 3
    assert result["accepted"] == 60 and result["server_errors_5xx"] == 0 and result["status_requests"] == 60
    shares = result["server_cpu_share_per_process"]
    assert len(shares) == 3 and abs(sum(shares) - 1) < 0.01 and min(shares) > 0.1, shares
    assert result["server_cpu_ms_per_submit"] > 0 and result["client_cpu_ms_per_submit"] > 0
