"""The load benchmark's same-run baseline: the bare app, how the report reads it, and the pass/fail checks."""

from __future__ import annotations

import io
import json

from generation.bench import bare_app
from generation.bench.load import load_checks, load_summary
from generation.bench.report import _load_baseline


def test_the_bare_app_receives_the_whole_body_and_answers_like_a_submission():
    body = b"x" * (3 << 20)  # more than one read
    stream = io.BytesIO(body)
    started = []
    answer = b"".join(bare_app.application({"CONTENT_LENGTH": str(len(body)), "wsgi.input": stream},
                                           lambda status, headers: started.append((status, dict(headers)))))
    assert stream.tell() == len(body)
    assert started[0][0] == "200 OK" and started[0][1]["Content-Length"] == str(len(answer))
    assert json.loads(answer)["status"] == "processing"


def test_the_report_gives_the_ratio_to_the_baseline_only_when_it_ran():
    load = {"submit_p95_ms": 220.0, "submit_p95_vs_baseline": 5.5,
            "baseline": {"submit_p95_ms": 40.0, "server_cpu_ms_per_submit": 0.84}}
    line = _load_baseline(load)
    assert "submit p95 40.0 ms" in line and "0.84 ms" in line and "5.5×" in line
    assert _load_baseline({"submit_p95_ms": 220.0}) == ""


def _load(**figures) -> dict:
    result = {"server_errors_5xx": 0, "connection_errors": 0, "submit_p95_ms": 240.0, "submit_p95_vs_baseline": 4.0,
              "status_p95_ms": 12.0, "baseline": {"submit_p95_ms": 60.0}}
    result.update(figures)
    return result


def test_the_load_checks_pass_only_when_every_target_is_met():
    assert all(check["pass"] for check in load_checks(_load()).values())
    assert load_summary(_load()).endswith("-> PASS")
    failing = {
        "server_errors_5xx": _load(server_errors_5xx=1),
        "submit_p95_vs_baseline": _load(submit_p95_vs_baseline=6.1),
        "status_p95_ms": _load(status_p95_ms=50.0),
    }
    for name, result in failing.items():
        checks = load_checks(result)
        assert [n for n, c in checks.items() if not c["pass"]] == [name]
        assert load_summary(result).endswith(f"-> FAIL: {name}")
    # Dropped connections fail the error target; a ratio that could not be measured fails too.
    assert not load_checks(_load(connection_errors=2))["server_errors_5xx"]["pass"]
    assert not load_checks(_load(submit_p95_vs_baseline=None))["submit_p95_vs_baseline"]["pass"]
