"""The load benchmark's same-run baseline: the bare app and how the report reads it."""

from __future__ import annotations

import io
import json

from generation.bench import bare_app
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
