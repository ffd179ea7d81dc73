"""Schema-driven fuzzing of /api/v1 with schemathesis: every operation in the
OpenAPI document gets ``max_examples`` generated requests (valid and invalid);
any 5xx is a finding. ``fuzz_schema`` works on any loaded schema (a live server
for `make bench`, the WSGI app in-process for the test suite)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# The event stream stays open until its job ends: fuzzing it only measures a timeout.
SKIP_OPERATIONS = ("GET /api/v1/status/{task_id}/events",)


@dataclass
class FuzzReport:
    operations: int = 0
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)  # curl commands that gave 5xx (503 excluded)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"operations": self.operations, "requests": self.requests, "by_status": dict(sorted(self.by_status.items())),
                "server_errors": len(self.server_errors), "server_error_examples": self.server_errors[:5],
                "seconds": round(self.seconds, 1)}


def fuzz_schema(schema, *, max_examples: int, seed: int = 0, time_budget: float | None = None) -> FuzzReport:
    """Run ``max_examples`` generated cases per operation; 503 (queue full) is by design, not a finding."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    report = FuzzReport()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.full_path}"
        if label in SKIP_OPERATIONS:
            continue
        if time_budget is not None and time.monotonic() - started > time_budget:
            logger.warning("fuzz: time budget spent before %s", label)
            break
        report.operations += 1

        @hypothesis_seed(seed)
        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(timeout=60)
            report.requests += 1
            report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
            if response.status_code >= 500 and response.status_code != 503:
                report.server_errors.append(f"{response.status_code}: {case.as_curl_command()}")

        run()
    report.seconds = time.monotonic() - started
    return report


def fuzz_server(max_examples: int = 50, *, seed: int = 0) -> dict:
    """Fuzz a real server (gunicorn, no worker: submissions stay queued) on a temporary data dir."""
    import tempfile

    import schemathesis

    from generation.bench.server import LocalService

    with tempfile.TemporaryDirectory() as tmp:
        server = LocalService(Path(tmp), worker=False, PAKSA_LOG_LEVEL="WARNING", PAKSA_RATE_LIMIT_PER_MINUTE="0", PAKSA_READ_RATE_LIMIT_PER_MINUTE="0",
                             PAKSA_MAX_QUEUED_JOBS="100000")
        with server:
            schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
            report = fuzz_schema(schema, max_examples=max_examples, seed=seed)
    return report.as_dict()
