"""Real backing services for the integration tests: PostgreSQL + Redis from
scripts/ci_services.sh, and moto's S3-compatible server, all on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.service import ROOT, free_port


@pytest.fixture(scope="session")
def ci_services() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL of the loopback services (started if needed)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "ci_services.sh")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)


@pytest.fixture
def fresh_database(ci_services) -> str:
    """A database of its own for one test, dropped afterwards."""
    import psycopg

    name = f"paksa_test_{uuid.uuid4().hex[:10]}"
    admin_url = ci_services["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield ci_services["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def s3_server(tmp_path) -> dict[str, str]:
    """moto's S3 server on loopback with one bucket; yields the PAKSA_S3_* settings."""
    import boto3

    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(endpoint, timeout=1)
            break
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or listening but not answering yet
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto_server did not start: " + (tmp_path / "moto.log").read_text()[-2000:]) from None
            time.sleep(0.2)
    env = {"PAKSA_STORAGE": "s3", "PAKSA_S3_BUCKET": "paksa-test", "PAKSA_S3_ENDPOINT_URL": endpoint,
           "PAKSA_S3_REGION": "us-east-1", "PAKSA_S3_ACCESS_KEY_ID": "testing", "PAKSA_S3_SECRET_ACCESS_KEY": "testing",
           "PAKSA_S3_PREFIX": "paksa"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="paksa-test")
    yield env
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)

