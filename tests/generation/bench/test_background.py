"""The background benchmark: its verdict and its timing harness (no timings asserted)."""

from __future__ import annotations

import numpy as np

from generation.bench.background import TARGET_RATIO, _TimedStage, render_cost_summary, stage_cost
from generation.pipeline.choices import BACKGROUND_MODES
from generation.pipeline.types import BackgroundOptions


def _cost(ratios: dict) -> dict:
    return {"resolution": "720p", "target_ratio": TARGET_RATIO, "target_modes": list(ratios),
            "modes": {mode: {"ratio_to_no_background": r} for mode, r in ratios.items()},
            "target_met": all(r <= TARGET_RATIO for r in ratios.values())}


def test_the_summary_says_whether_the_target_is_met():
    assert render_cost_summary(_cost({"blur": 1.2, "color": 1.5})).endswith("-> MET")
    line = render_cost_summary(_cost({"blur": 1.2, "color": 1.51}))
    assert line.endswith("-> NOT MET") and "color 1.51x" in line and "target <= 1.5x" in line


def test_the_timed_stage_keeps_the_first_frame_apart_and_passes_frames_through(astronaut_bgr):
    frame = np.ascontiguousarray(astronaut_bgr[:128, :128])
    stage = _TimedStage(BackgroundOptions(mode="cinematic"), (128, 128), True)
    try:
        outs = [stage.apply(frame, (40, 40, 80, 80)) for _ in range(3)]
    finally:
        stage.close()
    assert stage.frames == 3 and stage.first_s > 0 and stage.rest_s > 0
    assert all(out.shape == frame.shape for out in outs) and not np.array_equal(outs[0], frame)  # graded, barred


def test_stage_cost_reports_every_mode():
    report = stage_cost(size=(320, 180), n=3)
    assert set(report["modes"]) == set(BACKGROUND_MODES)
    for mode, entry in report["modes"].items():
        assert entry["static_ms"] >= 0 and entry["dynamic_ms"] >= 0
        if mode != "none":
            assert entry["dynamic_ms"] > 0


def test_a_ratio_pairs_each_round_with_its_own_baseline_and_takes_the_median():
    from generation.bench.background import _paired_ratio

    # Round 2 ran while the machine was busy: both of its renders were slow.
    assert _paired_ratio([1.2, 2.4, 1.3], [1.0, 2.0, 1.0]) == 1.2
    assert _paired_ratio([1.2, 9.0, 1.3], [1.0, 1.0, 1.0]) == 1.3  # one outlier round does not decide
