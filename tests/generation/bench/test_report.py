"""The benchmark page and verdict lines, from results shaped like a real run's."""

from __future__ import annotations

from generation.bench.report import markdown, verdicts

BACKGROUND = {
    "resolution": "720p", "size": [720, 720], "clip_s": 11.8, "frames": 295, "rounds": 3,
    "no_background_render_s": 1.6, "no_background_cpu_s": 2.3, "no_background_ms_per_frame": 5.4,
    "modes": {"blur": {"render_s": 1.8, "ratio_to_no_background": 1.12, "cpu_ratio_to_no_background": 1.1,
                       "per_frame_ms": 0.9, "first_frame_ms": 30.0}},
    "target_ratio": 1.5, "target_modes": ["blur"], "target_met": True, "load_average": [0.5, 0.7],
    "summary": "720p render with a background / without one: blur 1.12x (target <= 1.5x) -> MET",
}


def _results(**sections) -> dict:
    return {"quick": True, "started": "2026-12-03T08:00:00+00:00", "machine": {"cpu": "Test CPU", "cores": 2}, **sections}


def test_the_page_names_each_verdict_and_links_frames_relative_to_itself():
    frames = {"open": {"frame": 12, "aperture": 0.3, "file": "open.png"}, "blink": {"frame": 40, "aperture": 0.1, "file": "blink.png"}}
    page = markdown(_results(background=BACKGROUND, frames=frames, memory={"error": "RuntimeError: boom"}))
    assert page.startswith("# Benchmarks")
    assert "`manage.py bench --quick`" in page and "2 cores of Test CPU" in page
    assert "- background: 720p render with a background / without one: blur 1.12x (target <= 1.5x) -> MET" in page
    assert "- memory: ERROR RuntimeError: boom" in page
    assert "| blur | 1.12× | 1.1× | 0.9 | 30.0 |" in page
    assert "![open vowel](frames/open.png)" in page and "![blink](frames/blink.png)" in page
    assert "/tmp" not in page and "/work" not in page  # no server paths


def test_a_section_whose_shape_changed_is_shown_raw_not_dropped():
    page = markdown(_results(text={"resolution": "480p", "renamed_figure": 4.2}))
    assert '"renamed_figure": 4.2' in page


def test_verdicts_list_summaries_and_errors_only():
    lines = verdicts(_results(background=BACKGROUND, wav2lip={"wav2lip_ms_per_frame": 70.0}, fuzz={"error": "OSError: x"}))
    assert lines == [f"background: {BACKGROUND['summary']}", "fuzz: ERROR OSError: x"]


def test_realism_verdict_names_what_missed_and_the_report_shows_each_emotion():
    from generation.bench.realism import verdict
    from generation.bench.report import SECTIONS
    from generation.pipeline.measure.realism import TARGETS

    ok = {name: True for name in TARGETS}
    rows = {"neutral": {"meets_targets": ok, "head_turn": 0.03},
            "happy": {"meets_targets": ok, "blendshape_rise": 0.42, "blendshape_rise_target": 0.3, "mini_xception": {"rank": 1}},
            "sad": {"meets_targets": ok, "blendshape_rise": 0.12, "blendshape_rise_target": 0.2, "mini_xception": {"rank": 4}}}
    result = verdict({"portrait": "avatar.png", "resolution": "720p", "clip_s": 12.0, "rows": rows, "targets": TARGETS})
    assert not result["target_met"]
    assert "sad rise" in result["summary"] and "sad mini_xception rank" in result["summary"] and "happy" not in result["summary"]
    text = "\n".join(SECTIONS["realism"](result))
    assert "| happy |" in text and "+0.42 (≥ 0.3)" in text and "NOT MET" in text
    rows["sad"].update(blendshape_rise=0.25, mini_xception={"rank": 2})
    assert verdict({"portrait": "a", "resolution": "720p", "clip_s": 1, "rows": rows, "targets": TARGETS})["target_met"]
