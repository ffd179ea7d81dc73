"""The benchmark results as Markdown tables, for the README."""

from __future__ import annotations


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(results: dict) -> str:
    out: list[str] = []
    speed = results.get("speed") or {}
    if speed.get("rows"):
        out += ["**Rendering speed** (full preprocess, 25 fps; ×RT = seconds of video per second of wall time; the still "
                "engine is the baseline measured in the same run)", "",
                _row("clip", "resolution", "native ×RT", "native ms/frame", "still ×RT", "native time / still time", "native end to end"),
                _row(*["---"] * 7)]
        for r in speed["rows"]:
            out.append(_row(f"{r['clip_s']} s", r["resolution"], r["native_render_x_realtime"], r["native_ms_per_frame"],
                            r["still_render_x_realtime"], r["native_vs_still_render_time"], f"{r['native_end_to_end_s']} s"))
        out.append("")
    text = results.get("text") or {}
    if "wall_s" in text:
        out += [f"**Text → MP4** ({text['resolution']}, espeak-ng): {text['speech_s']} s of speech in {text['wall_s']} s "
                f"({text['x_realtime']}× real time); stages {text['stages_s']}.", ""]
    quality = results.get("quality") or {}
    if "open_vs_bilabial" in quality:
        out += ["**Lip sync** (`lipsync_report` on the astronaut render, espeak-ng speech, "
                f"{quality['clip_s']} s at {quality['resolution']})", "",
                _row("measure", "value", "target"), _row("---", "---", "---"),
                _row("face found on frames", quality["face_found_share"], "1.0"),
                _row("open-vowel / bilabial aperture", quality["open_vs_bilabial"], "≥ 3"),
                _row("open-vowel / silence aperture", quality["open_vs_silence"], "≥ 3"),
                _row("aperture–RMS correlation (lag 0 / best, lag)", f"{quality['correlation_lag0']} / {quality['correlation_best']}, {quality['best_lag_frames']} frames", "≥ 0.6 within ±1 frame"),
                _row("blinks per minute", quality["blinks_per_minute"], "8–30"),
                _row("head roll std (degrees)", quality["head_motion_roll_std_deg"], "small, present"), ""]
    memory = results.get("memory") or {}
    if "peak_rss_mb" in memory:
        out += [f"**Memory**: a {memory['clip_s']:.0f} s {memory['resolution']} render peaks at {memory['peak_rss_mb']} MB "
                f"resident (target < {memory['target_mb']} MB).", ""]
    expressions = results.get("expressions") or {}
    if "ms_per_face_median" in expressions:
        out += [f"**mini_xception**: {expressions['ms_per_face_median']:.1f} ms per face after warm-up (median of "
                f"{expressions['n']}; target < 20 ms).", ""]
    wav2lip = results.get("wav2lip") or {}
    if "wav2lip_ms_per_frame" in wav2lip:
        out += [f"**Wav2Lip generator** (random weights, batch {wav2lip['batch_size']}): {wav2lip['wav2lip_ms_per_frame']} ms "
                f"per frame, {wav2lip['wav2lip_vs_native']}× the native engine's {wav2lip['native_ms_per_frame_720p']} ms "
                "per 720p frame.", ""]
    background = results.get("background") or {}
    if background.get("modes"):
        out += ["**Background stage** at 720p, added ms per frame (static = the native engine's case: mask and blur "
                "once per job), and as a share of the native engine's frame time", "",
                _row("mode", "static ms", "dynamic ms", "static / native frame"), _row("---", "---", "---", "---")]
        for mode, m in background["modes"].items():
            out.append(_row(mode, round(m["static_ms"], 1), round(m["dynamic_ms"], 1), m.get("static_vs_native_frame", "")))
        out.append("")
        cost = background.get("render_cost") or {}
        if cost.get("modes"):
            out += [f"Whole native renders at {cost['resolution']} with a background, against the same render without one "
                    f"({cost['no_background_render_s']} s; target ≤ {cost['target_ratio']}×): "
                    + ", ".join(f"{mode} {m['ratio_to_no_background']}×" for mode, m in cost["modes"].items()) + ".", ""]
    load = results.get("load") or {}
    if "submit_p95_ms" in load:
        out += [f"**Load** ({load['bursts']} bursts of {load['clients']} simultaneous submissions with a "
                f"{load['image_bytes'] // 1000} KB PNG, each followed by status polling, after one warm-up burst; "
                f"{load['web_workers']} gunicorn processes, no Huey worker, client on the same cores): "
                f"{load['accepted']} accepted, {load['rejected_503']} × 503, {load['server_errors_5xx']} × 5xx; submit p50/p95 "
                f"{load['submit_p50_ms']}/{load['submit_p95_ms']} ms (target p95 < 200; per burst "
                f"{', '.join(str(v) for v in load['submit_p95_per_burst_ms'])}), status p50/p95 "
                f"{load['status_p50_ms']}/{load['status_p95_ms']} ms over {load['status_requests']} polls (target p95 < 50). "
                f"CPU per submission while the bursts were answered: server {load.get('server_cpu_ms_per_submit')} ms, "
                f"load client {load.get('client_cpu_ms_per_submit')} ms; each web process's share of the server's: "
                f"{', '.join(str(v) for v in load.get('server_cpu_share_per_process') or [])}."
                + _load_baseline(load), ""]
    fuzz = results.get("fuzz") or {}
    if "requests" in fuzz:
        out += [f"**Fuzzing** (schemathesis against /api/v1/openapi.json): {fuzz['operations']} operations, "
                f"{fuzz['requests']} requests in {fuzz['seconds']} s, {fuzz['server_errors']} server errors; "
                f"statuses {fuzz['by_status']}.", ""]
    return "\n".join(out)


def _load_baseline(load: dict) -> str:
    base = load.get("baseline") or {}
    if not base.get("submit_p95_ms"):
        return ""
    return (f" Baseline in the same run, the same bursts against a bare WSGI app that only receives the body, served by "
            f"the same gunicorn settings: submit p95 {base['submit_p95_ms']} ms, server CPU {base['server_cpu_ms_per_submit']} ms "
            f"per submission; the app's submit p95 is {load.get('submit_p95_vs_baseline')}× that.")
