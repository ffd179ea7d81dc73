"""The native viseme engine: the photo itself, warped per frame to the speech.

Always available where MediaPipe imports (the face was already found by the
pipeline); renders lazily, frame by frame, at output resolution.
"""

from __future__ import annotations

import functools
import logging
import time
import zlib
from collections.abc import Iterator

import numpy as np

from generation.pipeline.engines.base import Availability, Engine
from generation.pipeline.errors import EngineFailed, PipelineError
from generation.pipeline.types import EngineInput, FrameStream, ProgressFn

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _mediapipe_reason() -> str:
    try:
        import mediapipe  # noqa: F401
    except Exception as exc:  # any import failure means the mesh cannot run
        return f"mediapipe is not importable: {exc}"
    return ""


def job_seed(inp: EngineInput) -> int:
    """A seed stable for the same photo and audio, so re-renders are identical."""
    img = np.ascontiguousarray(inp.image[::7, ::7])
    return zlib.crc32(img.tobytes()) ^ (len(inp.audio.samples) * 2654435761 % (1 << 32))


CROP_MARGIN = 0.15  # crop modes: the face fills the frame, so a tighter animated region saves most of the work


def animate_margin(inp: EngineInput) -> float:
    """The share of the face size around it that the warp may touch."""
    margin = inp.geometry.animate_margin
    if inp.request.preprocess in ("crop", "extcrop", "resize"):
        margin = min(margin, CROP_MARGIN)
    return margin


class NativeEngine(Engine):
    name = "native"

    def availability(self) -> Availability:
        reason = _mediapipe_reason()
        return Availability(available=not reason, reason=reason)

    def unsuitable_reason(self, inp: EngineInput) -> str:
        return "no face found in the image" if inp.face is None else ""

    def prepare(self) -> None:
        # numba's import and start-up (~0.5 s in a fresh process) and the cached kernels' load.
        from generation.pipeline.engines.native import animate, raster, shade  # noqa: F401

        raster.available()
        shade.available()

    def render(self, inp: EngineInput, progress: ProgressFn) -> FrameStream:
        if inp.face is None:
            raise EngineFailed("no face found in the image")
        from generation.pipeline import face as F
        from generation.pipeline.engines.native import motion
        from generation.pipeline.engines.native.animate import FaceAnimator
        from generation.pipeline.engines.native.visemes import mouth_track

        req = inp.request
        scales = motion.style_scales(req.style)
        try:
            track = mouth_track(inp.timeline, req.fps, inp.frame_count, intensity=scales.mouth)
            base = F.crop_to_geometry(inp.image, inp.geometry)
            face = F.transform_face(inp.face, inp.geometry)
            animator = FaceAnimator(base, face, emotion=req.emotion, style=req.style, expression=req.expression,
                                    seed=job_seed(inp), fps=req.fps, animate_margin=animate_margin(inp),
                                    energy_track=track.energy, frame_count=inp.frame_count)
        except PipelineError:
            raise
        except Exception as exc:
            raise EngineFailed(f"native engine could not prepare the face: {exc}") from exc
        if len(track.frames) != inp.frame_count:
            raise EngineFailed(f"mouth track has {len(track.frames)} frames, expected {inp.frame_count}")
        progress(0.0, "animating")
        kernels = "compiled" if animator.warper.coarse.compiled else "numpy (numba unavailable)"
        notes = [f"native: warp region {animator.box}, step {animator.warper.step}, {kernels} rasteriser"]
        # Only the animated region ever changes; the background stage caches the rest.
        return FrameStream(frames=self._frames(animator, track, inp.frame_count, progress), frame_count=inp.frame_count, notes=notes,
                           changed_box=tuple(int(v) for v in animator.box))

    @staticmethod
    def _frames(animator, track, frame_count: int, progress: ProgressFn) -> Iterator[np.ndarray]:
        last = time.monotonic()
        energy = track.energy if len(track.energy) == frame_count else np.zeros(frame_count)
        for i in range(frame_count):
            try:
                frame = animator.render(track.frames[i], i, float(energy[i]))
            except PipelineError:
                raise
            except Exception as exc:
                raise EngineFailed(f"native engine failed at frame {i}: {exc}") from exc
            now = time.monotonic()
            if now - last >= 0.5:
                progress(100.0 * i / max(1, frame_count), "animating")
                last = now
            yield frame
        progress(100.0, "animating")
