"""Lip-sync quality of the native engine on the astronaut, measured by the report tool."""

from __future__ import annotations

import tempfile
from pathlib import Path

from generation.bench.media import astronaut_png, speech_wav
from generation.pipeline import render as pipeline
from generation.pipeline.engines.native.engine import NativeEngine
from generation.pipeline.engines.still import StillEngine
from generation.pipeline.measure.lipsync import lipsync_report
from generation.pipeline.types import RenderRequest

TARGETS = {
    "face_found_share": "= 1.0",
    "open_vs_bilabial": ">= 3",
    "open_vs_silence": ">= 3",
    "correlation": ">= 0.6 at best lag within +-1 frame",
    "blinks_per_minute": "8-30",
}


def quality_checks(q: dict) -> dict[str, bool]:
    """Each TARGETS entry: met or not."""
    lag = q.get("best_lag_frames")
    return {
        "face_found_share": q["face_found_share"] >= 1.0,
        "open_vs_bilabial": q["open_vs_bilabial"] >= 3,
        "open_vs_silence": q["open_vs_silence"] >= 3,
        "correlation": (q.get("correlation_best") or 0) >= 0.6 and lag is not None and abs(lag) <= 1,
        "blinks_per_minute": 8 <= (q.get("blinks_per_minute") or 0) <= 30,
    }


def lipsync_quality(seconds: float = 20.0, resolution: str = "720p") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        audio, text = speech_wav(tmp / "speech.wav", seconds)
        request = RenderRequest(output_path=tmp / "native.mp4", work_dir=tmp, image_path=image, audio_path=audio,
                                text=text, resolution=resolution, fps=25, expression_engine="none")
        result = pipeline.render(request, {"native": NativeEngine(), "still": StillEngine()}, lambda p, s: None, pipeline.RenderHooks())
        report = lipsync_report(result.output_path, text=text, work_dir=tmp)
    by_class = report["aperture_by_class"]
    bilabial = by_class["bilabial"]["mean"] or 1e-6
    silence = by_class["silence"]["mean"] or 1e-6
    result = {
        "clip_s": report["duration"],
        "resolution": resolution,
        "face_found_share": report["face_found_share"],
        "open_vs_bilabial": round(by_class["open_vowel"]["mean"] / bilabial, 2),
        "open_vs_silence": round(by_class["open_vowel"]["mean"] / silence, 2),
        "correlation_lag0": report["audio"]["correlation_lag0"],
        "correlation_best": report["audio"]["correlation_best"],
        "best_lag_frames": report["audio"]["best_lag_frames"],
        "blinks_per_minute": report["blinks"]["per_minute"],
        "head_motion_roll_std_deg": report["head_motion"]["roll_std_deg"],
        "head_motion_nose_std_iod": report["head_motion"]["nose_std_iod"],
        "targets": TARGETS,
    }
    result["checks"] = checks = quality_checks(result)
    result["target_met"] = all(checks.values())
    missed = [name for name, ok in checks.items() if not ok]
    result["summary"] = (f"open/bilabial {result['open_vs_bilabial']}, open/silence {result['open_vs_silence']}, "
                         f"correlation {result['correlation_best']} at lag {result['best_lag_frames']}, "
                         f"{result['blinks_per_minute']} blinks/min -> "
                         + ("MET" if not missed else "NOT MET: " + ", ".join(missed)))
    return result
