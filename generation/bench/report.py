"""The benchmark results as a Markdown page (DATA_DIR/bench/benchmarks.md; docs/benchmarks.md
when published) and as one verdict line per target."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

from generation.bench.portraits import DESCRIPTIONS

FRAME_NAMES = {"open": "open vowel", "bilabial": "bilabial (M/B/P)", "pause": "pause", "blink": "blink"}


def machine_info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version()}


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _met(flag) -> str:
    return "met" if flag else "**not met**"


def verdicts(results: dict) -> list[str]:
    """One line per section that has a target (its own summary), plus any section that failed."""
    lines = []
    for name, section in results.items():
        if not isinstance(section, dict):
            continue
        if "error" in section:
            lines.append(f"{name}: ERROR {section['error']}")
        elif section.get("summary"):
            lines.append(f"{name}: {section['summary']}")
    return lines


def _speed(speed: dict) -> list[str]:
    out = ["## Rendering speed", "",
           "Full preprocess, 25 fps. ×RT = seconds of video per second of wall time of the render stage (frames and "
           "encoding); the still engine (one frame, encoded as a still video) is the baseline measured in the same run.", "",
           _row("clip", "resolution", "native ×RT", "native ms/frame", "still ×RT", "native time / still time", "native end to end"),
           _row(*["---"] * 7)]
    for r in speed["rows"]:
        out.append(_row(f"{r['clip_s']} s", r["resolution"], r["native_render_x_realtime"], r["native_ms_per_frame"],
                        r["still_render_x_realtime"], r["native_vs_still_render_time"], f"{r['native_end_to_end_s']} s"))
    return out + [""]


def _text(text: dict) -> list[str]:
    return ["## Text → MP4", "",
            f"{text['resolution']}, espeak-ng: {text['speech_s']} s of speech in {text['wall_s']} s "
            f"({text['x_realtime']}× real time). Stages (s): {_stages(text['stages_s'])}.", ""]


def _stages(stages: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in stages.items())


def _quality(q: dict) -> list[str]:
    checks = q.get("checks") or {}
    return ["## Lip sync", "",
            f"`lipsync_report` on the astronaut render, espeak-ng speech, {q['clip_s']} s at {q['resolution']}.", "",
            _row("measure", "value", "target", ""), _row("---", "---", "---", "---"),
            _row("face found on frames", q["face_found_share"], "1.0", _met(checks.get("face_found_share"))),
            _row("open-vowel / bilabial aperture", q["open_vs_bilabial"], "≥ 3", _met(checks.get("open_vs_bilabial"))),
            _row("open-vowel / silence aperture", q["open_vs_silence"], "≥ 3", _met(checks.get("open_vs_silence"))),
            _row("aperture–RMS correlation (lag 0 / best, at lag)",
                 f"{q['correlation_lag0']} / {q['correlation_best']}, {q['best_lag_frames']} frames", "≥ 0.6 within ±1 frame",
                 _met(checks.get("correlation"))),
            _row("blinks per minute", q["blinks_per_minute"], "8–30", _met(checks.get("blinks_per_minute"))),
            _row("head roll std (degrees)", q["head_motion_roll_std_deg"], "small, present", ""), ""]


LIPSYNC_PATHS = {"text": "text → TTS", "transcript": "audio + transcript + language", "audio": "audio alone"}


def _rate(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _lipsync(ls: dict) -> list[str]:
    targets, checks = ls["targets"]["paths"], ls.get("checks") or {}
    corr = ls["correlation"]
    out = ["## Lip sync per language and input path", "",
           f"Native engine, {ls['resolution']} at {ls['fps']} fps, portraits: {', '.join(ls['portraits'])}. Closure: the share "
           "of p/b/m where the lips touch (inner-lip gap ≤ 2% of the inter-ocular distance within ±30 ms); false closure: "
           "the share of tongue consonants away from p/b/m and pauses where they touch. The truth is the synthesiser's own "
           "phone times (espeak-ng's phoneme events, Festival's segments), measured on the face mesh re-detected in the rendered frames. "
           "Timings: `phone_timeline`, warm, seconds per 10 s of speech.", "",
           _row("path", "closure", "false closure", "worst language", "p/b/m", "tongue", "timings s / 10 s", "methods", ""),
           _row(*["---"] * 9)]
    for path, p in ls["paths"].items():
        t = targets[path]
        worst = p["worst_language"]
        met = all(v for k, v in checks.items() if k.startswith(f"{path} "))
        out.append(_row(LIPSYNC_PATHS.get(path, path), f"{_rate(p['closure'])} (≥ {t['closure']})",
                        f"{_rate(p['false_closure'])} (≤ {t['false_closure']})",
                        f"{worst} {_rate(p['languages'][worst]['closure'])} (≥ {t['language_closure']})" if worst else "–",
                        p["bilabials"], p["tongue_consonants"], p["timing_s_per_10s"], ", ".join(p["methods"]), _met(met)))
    out += ["", f"Aperture–RMS correlation, mean over {corr['rows']} renders: {corr['mean']}, median lag "
            f"{corr['median_lag_frames']} frames ({corr['rows_lag_within']} renders within ±1; target "
            f"{ls['targets']['correlation']}): {_met(checks.get('correlation'))}.", "",
            _row("path", "language", "voices", "closure", "false closure", "p/b/m", "tongue"), _row(*["---"] * 7)]
    for path, p in ls["paths"].items():
        for lang, f in p["languages"].items():
            voices = sorted({r["voice"] for r in ls["rows"] if r["path"] == path and r["language"] == lang})
            out.append(_row(path, lang, ", ".join(voices), _rate(f["closure"]), _rate(f["false_closure"]),
                            f["bilabials"], f["tongue_consonants"]))
    out += [f"\nNot measured: {'; '.join(ls['skipped'] + ls['errors'])}."] if ls["skipped"] or ls["errors"] else []
    return out + [""]


def _memory(memory: dict) -> list[str]:
    return ["## Memory", "", f"A {memory['clip_s']:.0f} s {memory['resolution']} render in its own process peaks at "
            f"{memory['peak_rss_mb']} MB resident (target < {memory['target_mb']} MB: {_met(memory.get('target_met'))}).", ""]


def _expressions(expr: dict) -> list[str]:
    return ["## mini_xception", "", f"{expr['ms_per_face_median']:.1f} ms per face after warm-up (median of {expr['n']}; "
            f"target < 20 ms: {_met(expr.get('target_met'))}).", ""]


def _wav2lip(w: dict) -> list[str]:
    versus = (f", {w['wav2lip_vs_native']}× the native engine's {w['native_ms_per_frame_720p']} ms per 720p frame"
              if w.get("wav2lip_vs_native") else "")
    return ["## Wav2Lip generator", "",
            f"Random weights (speed does not depend on them), batch {w['batch_size']}: {w['wav2lip_ms_per_frame']} ms per "
            f"96×96 face{versus}.", ""]


def _background(bg: dict) -> list[str]:
    out = ["## Backgrounds", "",
           f"Whole native renders of the astronaut ({bg['size'][0]}×{bg['size'][1]}, {bg['clip_s']} s, {bg['frames']} frames) "
           f"with each background mode, against the same render without one: each ratio is the median over {bg['rounds']} "
           f"rounds of a mode's render time over the same round's time without a background. Render stage without a "
           f"background (fastest round): {bg['no_background_render_s']} s "
           f"({bg['no_background_ms_per_frame']} ms per frame). Target for blur, portrait and color: render time ≤ "
           f"{bg['target_ratio']}× — **{'met' if bg['target_met'] else 'not met'}**. Load average during the run: "
           f"{' → '.join(str(v) for v in bg.get('load_average', []))}.", "",
           _row("mode", "render time / without", "CPU time / without (encoder aside)", "stage ms/frame", "stage first frame ms"),
           _row(*["---"] * 5)]
    for mode, m in bg["modes"].items():
        out.append(_row(mode, f"{m['ratio_to_no_background']}×", f"{m['cpu_ratio_to_no_background']}×",
                        m.get("per_frame_ms", ""), m.get("first_frame_ms", "")))
    stage = bg.get("stage") or {}
    if stage.get("modes"):
        out += ["", f"The stage alone on {stage['size'][0]}×{stage['size'][1]} frames whose face moves a pixel per frame, "
                "ms per frame: static background (the native engine: matte and backdrop once per job, the changed box "
                "recomposited) and moving background (engines that report no changed box: everything per frame).", "",
                _row("mode", "static ms", "moving ms"), _row("---", "---", "---")]
        for mode, m in stage["modes"].items():
            out.append(_row(mode, m["static_ms"], m["dynamic_ms"]))
    return out + [""]


def _realism(realism: dict) -> list[str]:
    name = Path(realism["portrait"]).stem
    out = [f"## Realism: {name}", "",
           f"Native renders of {DESCRIPTIONS.get(name, realism['portrait'])} at {realism['resolution']}, {realism['clip_s']:g} s of speech, one per "
           "emotion, the face mesh re-detected on every output frame; rises are FaceLandmarker's blendshapes over the "
           "neutral render of the same photo and text.", "",
           _row("emotion", "head turn", "nod", "gaze shifts/min", "mouth corners", "face found", "aperture-RMS r", "rise",
                "mini_xception rank"),
           _row(*["---"] * 9)]
    for emotion, row in realism["rows"].items():
        rank = (row.get("mini_xception") or {}).get("rank")
        rise = row.get("blendshape_rise")
        rise_text = "" if rise is None else f"{rise:+.2f} (≥ {row.get('blendshape_rise_target')})"
        out.append(_row(emotion, row.get("head_turn"), row.get("nod"), row.get("gaze_shifts_per_minute"), row.get("corner_ratio"),
                        row.get("face_found_share"), row.get("correlation_best"), rise_text, rank or ""))
    targets = ", ".join(f"{figure} {lo if lo is not None else ''}–{hi if hi is not None else ''}"
                        for figure, (lo, hi) in realism["targets"].items())
    return out + ["", f"Targets: {targets}; mini_xception ranks the asked emotion 1st or 2nd.", "",
                  f"Verdict: {realism.get('summary', '')}", ""]


def _load(load: dict) -> list[str]:
    out = ["## Load", "",
           f"{load['bursts']} bursts of {load['clients']} simultaneous submissions with a {load['image_bytes'] // 1000} KB PNG, "
           f"each followed by status polling, after one warm-up burst; {load['web_workers']} gunicorn processes, no Huey "
           f"worker, the load client on the same cores: {load['accepted']} accepted, {load['rejected_503']} × 503, "
           f"{load['server_errors_5xx']} × 5xx; submit p50/p95 {load['submit_p50_ms']}/{load['submit_p95_ms']} ms, status "
           f"p50/p95 {load['status_p50_ms']}/{load['status_p95_ms']} ms; server CPU "
           f"{load.get('server_cpu_ms_per_submit')} ms per submission." + _load_baseline(load)]
    if load.get("summary"):
        out += ["", f"Targets: {load['summary']}"]
    return out + [""]


def _load_baseline(load: dict) -> str:
    """The same-run baseline sentence; empty when the baseline did not run."""
    base = load.get("baseline") or {}
    if not base.get("submit_p95_ms"):
        return ""
    return (f" Baseline in the same run, the same bursts against a bare WSGI app that only receives the body, served by "
            f"the same gunicorn settings: submit p95 {base['submit_p95_ms']} ms, server CPU {base['server_cpu_ms_per_submit']} ms "
            f"per submission; the app's submit p95 is {load.get('submit_p95_vs_baseline')}× that.")


def _fuzz(fuzz: dict) -> list[str]:
    return ["## Fuzzing", "", f"schemathesis against /api/v1/openapi.json: {fuzz['operations']} operations, "
            f"{fuzz['requests']} requests in {fuzz['seconds']} s, {fuzz['server_errors']} server errors; statuses "
            f"{fuzz['by_status']}.", ""]


def _frames(frames: dict) -> list[str]:
    images = " ".join(f"![{FRAME_NAMES.get(name, name)}](frames/{entry['file']})" for name, entry in frames.items())
    return ["## Frames", "",
            "The astronaut render at an open vowel, a bilabial, a pause and a blink, picked by measurement (phones "
            "re-aligned on the output audio, eye openness re-detected), not by hand:", "", images, ""]


SECTIONS: dict[str, Callable[[dict], list[str]]] = {
    "speed": _speed, "text": _text, "quality": _quality, "lipsync": _lipsync, "realism": _realism, "unseen": _realism, "memory": _memory, "expressions": _expressions,
    "wav2lip": _wav2lip, "background": _background, "load": _load, "fuzz": _fuzz, "frames": _frames,
}


def markdown(results: dict) -> str:
    machine = results.get("machine") or {}
    out = ["# Benchmarks", "",
           f"Written by `manage.py bench{' --quick' if results.get('quick') else ''}` on {results.get('started', '?')}, on "
           f"{machine.get('cores', '?')} cores of {machine.get('cpu') or 'an unknown CPU'}, no GPU. Timings are ratios to a "
           "baseline measured in the same run where they can be: a shared machine's speed moves from run to run. "
           "How to read them: [performance.md](performance.md).", ""]
    lines = verdicts(results)
    if lines:
        out += ["## Targets", ""] + [f"- {line}" for line in lines] + [""]
    for name, render in SECTIONS.items():
        section = results.get(name)
        if not isinstance(section, dict) or "error" in section:
            continue
        try:
            out += render(section)
        except (KeyError, TypeError, IndexError):  # a section whose shape changed: show it raw, not nothing
            out += [f"## {name}", "", "```json", json.dumps(section, indent=2), "```", ""]
    return "\n".join(out)
