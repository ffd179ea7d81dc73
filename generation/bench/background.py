"""What the background stage costs, for ``make bench``.

``render_cost`` is the figure with a target: whole native renders of the astronaut with
each background mode against the same render without one, measured in the same run
(blur, portrait and color must stay within TARGET_RATIO). It also times the stage's own
``apply`` inside those renders, per frame, on the engine's real frames.

``stage_cost`` times the stage alone on synthetic frames (the face nudged a pixel per
frame), with a static background (the native engine's case: mask and backdrop once per
job) and a moving one (every frame composited whole, as for engines that report no
``changed_box``).
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from generation.pipeline.choices import BACKGROUND_MODES
from generation.pipeline.types import BackgroundOptions

logger = logging.getLogger(__name__)

TARGET_RATIO = 1.5  # render time with a background over the same render without one
TARGET_MODES = ("blur", "portrait", "color")
RENDER_MODES = {
    "blur": BackgroundOptions(mode="blur"),
    "portrait": BackgroundOptions(mode="portrait"),
    "color": BackgroundOptions(mode="color", color=(0, 255, 0)),
    "cinematic": BackgroundOptions(mode="cinematic"),
    "chroma": BackgroundOptions(mode="chroma", color=(40, 40, 40)),
}


class _TimedStage:
    """A BackgroundStage whose apply() calls are timed (first frame apart: it builds the caches)."""

    def __init__(self, options: BackgroundOptions, size: tuple[int, int], static: bool):
        from generation.pipeline.background.compose import BackgroundStage

        self.stage = BackgroundStage(options, size, static_background=static)
        self.first_s = 0.0
        self.rest_s = 0.0
        self.frames = 0

    def apply(self, frame: np.ndarray, changed_box=None) -> np.ndarray:
        started = time.perf_counter()
        out = self.stage.apply(frame, changed_box)
        elapsed = time.perf_counter() - started
        if self.frames == 0:
            self.first_s = elapsed
        else:
            self.rest_s += elapsed
        self.frames += 1
        return out

    def close(self) -> None:
        self.stage.close()


def render_cost(resolution: str = "720p", seconds: float = 10.0, rounds: int = 3) -> dict:
    """Render-stage time (frames + encoding) per mode over the same render without a background.

    Each round renders without a background, then with each mode; a mode's ratio is the
    median over rounds of its time over the same round's time without a background, so
    one busy moment on a shared 2-core machine does not decide it. The verdict is on wall
    time; the CPU-time ratio (this process) and the load average go with it, because
    other work on the machine moves wall time but hardly CPU time.
    """
    from generation.bench.media import astronaut_png, speech_wav
    from generation.pipeline import render as pipeline
    from generation.pipeline.engines.native.engine import NativeEngine
    from generation.pipeline.engines.still import StillEngine
    from generation.pipeline.types import RenderRequest

    stages: list[_TimedStage] = []
    load_before = os.getloadavg()[0]

    def make_stage(options, size, static):
        stages.append(_TimedStage(options, size, static))
        return stages[-1]

    hooks = pipeline.RenderHooks(background_stage=make_stage)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        audio, text = speech_wav(tmp / "speech.wav", seconds)
        engines = {"native": NativeEngine(), "still": StillEngine()}

        def run(options: BackgroundOptions | None):
            request = RenderRequest(output_path=tmp / "bg.mp4", work_dir=tmp, image_path=image, audio_path=audio, text=text,
                                    resolution=resolution, fps=25, expression_engine="none", captions="none",
                                    background=options or BackgroundOptions())
            stages.clear()
            marks: list[float] = []

            def progress(percent: float, stage: str) -> None:
                if not marks and stage.startswith("Rendering ("):  # the render stage starts
                    marks.append(_cpu_seconds())

            result = pipeline.render(request, engines, progress, hooks)
            return result, (stages[0] if stages else None), _cpu_seconds() - marks[0]

        run(None)  # warm-up: imports, compiled kernels
        run(RENDER_MODES["blur"])  # ...and the segmentation graph's first load
        walls: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        stage_ms: dict[str, dict] = {}
        for _ in range(max(1, rounds)):
            for name, options in [("none", None), *RENDER_MODES.items()]:
                rendered, stage, cpu_s = run(options)
                elapsed = rendered.timings["render"]
                if elapsed < min(walls.get(name, [float("inf")])) and stage is not None and stage.frames > 1:
                    stage_ms[name] = {"first_frame_ms": round(1000 * stage.first_s, 1),
                                      "per_frame_ms": round(1000 * stage.rest_s / (stage.frames - 1), 2)}
                walls.setdefault(name, []).append(elapsed)
                cpus.setdefault(name, []).append(cpu_s)
    plain = min(walls["none"])
    frames = rendered.frame_count
    modes = {name: {"render_s": round(min(walls[name]), 2),
                    "ratio_to_no_background": _paired_ratio(walls[name], walls["none"]),
                    "cpu_ratio_to_no_background": _paired_ratio(cpus[name], cpus["none"]), **stage_ms.get(name, {})}
             for name in RENDER_MODES}
    met = all(modes[name]["ratio_to_no_background"] <= TARGET_RATIO for name in TARGET_MODES)
    result = {
        "resolution": resolution, "size": [rendered.width, rendered.height], "clip_s": round(rendered.duration, 2),
        "frames": frames, "rounds": rounds,
        "no_background_render_s": round(plain, 2), "no_background_cpu_s": round(min(cpus["none"]), 2),
        "no_background_ms_per_frame": round(1000 * plain / frames, 2),
        "modes": modes, "target_ratio": TARGET_RATIO, "target_modes": list(TARGET_MODES), "target_met": met,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    result["summary"] = render_cost_summary(result)
    logger.info("background: %s", result["summary"])
    return result


def _paired_ratio(times: list[float], baseline: list[float]) -> float:
    """Median over rounds of each round's time over the same round's baseline: a slow spell
    of the machine slows both sides of a pair, and one bad round cannot decide."""
    return round(float(np.median([t / b for t, b in zip(times, baseline)])), 2)


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (the engine, the stage); the encoder's ffmpeg is
    a child and runs beside them, so it is left out."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def render_cost_summary(cost: dict) -> str:
    """One line: each target mode's ratio, then whether the target is met."""
    modes = cost["modes"]
    parts = [f"{name} {modes[name]['ratio_to_no_background']}x" for name in cost["target_modes"]]
    cpu = [f"{modes[name]['cpu_ratio_to_no_background']}x" for name in cost["target_modes"] if "cpu_ratio_to_no_background" in modes[name]]
    context = f"; CPU time {', '.join(cpu)}" if cpu else ""
    if cost.get("load_average"):
        context += f"; load average {cost['load_average'][0]} -> {cost['load_average'][1]} on {os.cpu_count()} cores"
    verdict = "MET" if cost["target_met"] else "NOT MET"
    return (f"{cost['resolution']} render time with a background / without one: {', '.join(parts)} "
            f"(target <= {cost['target_ratio']}x{context}) -> {verdict}")


def _source_frame(size: tuple[int, int]) -> np.ndarray:
    from skimage import data

    w, h = size
    side = min(w, h)
    square = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (side, side), interpolation=cv2.INTER_AREA)
    # A portrait in a landscape frame, sides padded with the border as preprocess=full does.
    pad_x, pad_y = (w - side) // 2, (h - side) // 2
    return cv2.copyMakeBorder(square, pad_y, h - side - pad_y, pad_x, w - side - pad_x, cv2.BORDER_REPLICATE)


def _face_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    from generation.pipeline.face import detect_face

    h, w = frame.shape[:2]
    face = detect_face(frame)
    if face is None:
        return w * 3 // 8, h // 8, w * 5 // 8, h * 5 // 8
    return face.bbox


def _green_screen(frame: np.ndarray) -> np.ndarray:
    """The person over pure green, using the segmentation matte (a realistic key source)."""
    from generation.pipeline.background.mask import PersonMasker

    masker = PersonMasker((frame.shape[1], frame.shape[0]))
    try:
        alpha = masker.update(frame)[..., None]
    finally:
        masker.close()
    green = np.zeros_like(frame)
    green[..., 1] = 255
    return (frame * alpha + green * (1.0 - alpha)).astype(np.uint8)


def _time_mode(mode: str, frames: list[np.ndarray], box, static: bool, image_path: Path) -> float:
    from generation.pipeline.background.compose import BackgroundStage

    opts = BackgroundOptions(mode=mode, color=(40, 160, 40), image_path=image_path if mode == "image" else None)
    size = (frames[0].shape[1], frames[0].shape[0])
    with BackgroundStage(opts, size, static_background=static) as stage:
        stage.apply(frames[0], box)  # first frame builds the per-job caches: not steady state
        start = time.perf_counter()
        for frame in frames[1:]:
            stage.apply(frame, box if static else None)
        return (time.perf_counter() - start) * 1000.0 / max(1, len(frames) - 1)


def stage_cost(size: tuple[int, int] = (1280, 720), n: int = 50) -> dict:
    """Added ms per frame of each mode, static and moving background, on synthetic frames."""
    base = _source_frame(size)
    box = _face_box(base)
    x0, y0, x1, y1 = box
    green = _green_screen(base)

    def nudged(source: np.ndarray) -> list[np.ndarray]:  # the face moves a pixel or two per frame
        out = []
        for i in range(n + 1):
            f = source.copy()
            f[y0:y1, x0:x1] = np.roll(source[y0:y1, x0:x1], (i % 3) - 1, axis=0)
            out.append(f)
        return out

    frames, chroma_frames = nudged(base), nudged(green)
    result: dict = {"size": list(size), "frames": n, "changed_box": list(box), "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        image_path = Path(tmp) / "bench_bg.png"
        yy, xx = np.mgrid[0:480, 0:640]
        cv2.imwrite(str(image_path), np.stack([xx % 256, yy % 256, 128 + 0 * xx], axis=-1).astype(np.uint8))
        for mode in BACKGROUND_MODES:
            source = chroma_frames if mode == "chroma" else frames
            result["modes"][mode] = {
                "static_ms": round(_time_mode(mode, source, box, True, image_path), 2),
                "dynamic_ms": round(_time_mode(mode, source, box, False, image_path), 2),
            }
            logger.info("background stage %s: %s", mode, result["modes"][mode])
    return result
