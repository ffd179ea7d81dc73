"""Rendering speed: native engine vs the still engine, and the whole `render` command,
as real-time factors (seconds of video per second of wall time)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generation.bench.media import astronaut_png, speech_wav
from generation.pipeline import media
from generation.pipeline import render as pipeline
from generation.pipeline.engines.native.engine import NativeEngine
from generation.pipeline.engines.still import StillEngine
from generation.pipeline.types import RenderRequest

logger = logging.getLogger(__name__)

RESOLUTIONS = ("480p", "720p", "1080p")
ROOT = Path(__file__).resolve().parents[2]
COMMAND_TARGET_X_REALTIME = 3.0  # the whole `manage.py render` process, ~9 s of speech at 480p
HELP_TARGET_S = 1.0  # `manage.py render --help`


def _render(engine_name: str, image: Path, audio: Path, text: str, work: Path, resolution: str, fps: int = 25, tts=None) -> dict:
    engines = {"native": NativeEngine(), "still": StillEngine()}
    request = RenderRequest(output_path=work / f"{engine_name}-{resolution}.mp4", work_dir=work, image_path=image,
                            audio_path=audio, text=text, resolution=resolution, fps=fps, expression_engine="none",
                            disabled_engines=() if engine_name == "native" else ("native",))
    hooks = pipeline.RenderHooks(synthesize=tts)
    started = time.perf_counter()
    result = pipeline.render(request, engines, lambda p, s: None, hooks)
    wall = time.perf_counter() - started
    assert result.engine == engine_name, result.fallback_reasons
    return {"wall_s": wall, "render_s": result.timings["render"], "duration_s": result.duration, "timings": result.timings}


def render_speed(clip_seconds=(10.0, 60.0)) -> dict:
    """Seconds of video per second of wall time, per resolution and clip length."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        # One throwaway render first: imports, model loading and caches must not land on
        # whichever resolution happens to be measured first.
        warm_audio, warm_text = speech_wav(tmp / "warm.wav", 2.0)
        _render("native", image, warm_audio, warm_text, tmp, "480p")
        _render("still", image, warm_audio, warm_text, tmp, "480p")
        for seconds in clip_seconds:
            audio, text = speech_wav(tmp / f"speech{int(seconds)}.wav", seconds)
            for resolution in RESOLUTIONS:
                native = _render("native", image, audio, text, tmp, resolution)
                still = _render("still", image, audio, text, tmp, resolution)
                rows.append({
                    "clip_s": round(native["duration_s"], 1),
                    "resolution": resolution,
                    "native_render_x_realtime": round(native["duration_s"] / native["render_s"], 1),
                    "native_end_to_end_s": round(native["wall_s"], 2),
                    "still_render_x_realtime": round(still["duration_s"] / still["render_s"], 1),
                    "native_vs_still_render_time": round(native["render_s"] / still["render_s"], 2),
                    "native_ms_per_frame": round(1000 * native["render_s"] / (native["duration_s"] * 25), 2),
                    "native_stage_s": native["timings"],
                })
    return {"rows": rows}


def text_to_mp4(seconds: float = 10.0, resolution: str = "480p") -> dict:
    """End to end from text: espeak-ng speech, alignment, face, render, encode."""
    from voices.tts import synthesize

    def tts(text: str, voice: str, out_dir: Path):
        spoken = synthesize(text, voice, out_dir, providers=("espeak",))
        return pipeline.SpeechResult(path=spoken.path, provider=spoken.provider, timing=spoken.timing, language=spoken.language)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        from generation.bench.media import speech_text

        text = speech_text(seconds)
        engines = {"native": NativeEngine(), "still": StillEngine()}
        # Warm-up outside the measurement (a long-running worker has everything loaded).
        warm = RenderRequest(output_path=tmp / "warm.mp4", work_dir=tmp, image_path=image, text="Warm up.",
                             resolution=resolution, fps=25, expression_engine="none")
        pipeline.render(warm, engines, lambda p, s: None, pipeline.RenderHooks(synthesize=tts))
        request = RenderRequest(output_path=tmp / "text.mp4", work_dir=tmp, image_path=image, text=text,
                                resolution=resolution, fps=25, expression_engine="none")
        started = time.perf_counter()
        result = pipeline.render(request, engines, lambda p, s: None, pipeline.RenderHooks(synthesize=tts))
        wall = time.perf_counter() - started
        duration = media.probe(result.output_path).duration
    return {"resolution": resolution, "speech_s": round(duration, 2), "wall_s": round(wall, 2),
            "x_realtime": round(duration / wall, 2), "stages_s": result.timings}


def render_command_speed(seconds: float = 9.0, resolution: str = "480p", runs: int = 3) -> dict:
    """The whole `manage.py render` process, start-up and imports included, with default
    options: espeak-ng speech onto the astronaut. Fastest of ``runs`` (a shared machine's
    busy moments only ever slow a run down); ``--help`` timed the same way."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        # speech_text's words-per-second estimate runs long for espeak-ng at 150 wpm.
        audio, _ = speech_wav(tmp / "speech.wav", seconds * 0.88)
        speech_s = media.probe(audio).duration
        env = {**os.environ, "PAKSA_DATA_DIR": str(tmp / "data")}

        def manage(*args: str) -> float:
            started = time.perf_counter()
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
            return time.perf_counter() - started

        help_s = min(manage("render", "--help") for _ in range(runs))
        out = tmp / "out.mp4"
        wall = min(manage("render", "--image", str(image), "--audio", str(audio), "--resolution", resolution, "--out", str(out))
                   for _ in range(runs))
    ratio = speech_s / wall
    met = ratio >= COMMAND_TARGET_X_REALTIME and help_s < HELP_TARGET_S
    return {
        "resolution": resolution, "speech_s": round(speech_s, 2), "wall_s": round(wall, 2), "x_realtime": round(ratio, 2),
        "help_s": round(help_s, 2), "target_x_realtime": COMMAND_TARGET_X_REALTIME, "target_help_s": HELP_TARGET_S,
        "target_met": met,
        "summary": (f"`manage.py render` of {speech_s:.1f} s of speech at {resolution}: {wall:.2f} s, {ratio:.1f}x real time "
                    f"(target >= {COMMAND_TARGET_X_REALTIME:g}x); `render --help` {help_s:.2f} s (target < {HELP_TARGET_S:g} s) "
                    f"-> {'MET' if met else 'NOT MET'}"),
    }
