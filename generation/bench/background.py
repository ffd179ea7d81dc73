"""Timing of the background stage per mode, for ``make bench``.

Frames are the scikit-image astronaut, border-padded to the size (a gradient
if scikit-image's sample data is missing). The static case mimics the native
engine: the background never moves and each frame nudges the face box.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from generation.pipeline.types import BACKGROUND_MODES, BackgroundOptions

logger = logging.getLogger(__name__)


def _source_frame(size: tuple[int, int]) -> np.ndarray:
    try:
        from skimage import data

        w, h = size
        side = min(w, h)
        square = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (side, side), interpolation=cv2.INTER_AREA)
        # A portrait in a landscape frame, sides padded with the border as preprocess=full does.
        pad_x, pad_y = (w - side) // 2, (h - side) // 2
        return cv2.copyMakeBorder(square, pad_y, h - side - pad_y, pad_x, w - side - pad_x, cv2.BORDER_REPLICATE)
    except Exception:  # sample data is optional; timing barely depends on content
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        return np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)


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


def run_benchmark(size: tuple[int, int] = (1280, 720), n: int = 50) -> dict:
    base = _source_frame(size)
    box = _face_box(base)
    x0, y0, x1, y1 = box
    # The face moves by a pixel or two per frame, as the native warp does.
    frames = []
    for i in range(n + 1):
        f = base.copy()
        f[y0:y1, x0:x1] = np.roll(base[y0:y1, x0:x1], (i % 3) - 1, axis=0)
        frames.append(f)
    green = _green_screen(base)
    chroma_frames = []
    for i in range(n + 1):
        f = green.copy()
        f[y0:y1, x0:x1] = np.roll(green[y0:y1, x0:x1], (i % 3) - 1, axis=0)
        chroma_frames.append(f)
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
            logger.info("background bench %s: %s", mode, result["modes"][mode])
    return result
