"""Read faces back with MediaPipe's own FaceLandmarker: 52 blendshapes, 478 landmarks, head pose.

Django-free. The model is ``face_landmarker.task`` (face detector, 478-point
mesh and the blendshape network), which ``manage.py fetch_models`` places at
``<models>/mediapipe/face_landmarker.task``; callers pass its path.

- ``read_faces`` / ``read_blendshapes``: every frame of a clip (BGR arrays),
  in VIDEO mode (tracks the face between frames, as a viewer would) or IMAGE
  mode (each frame on its own).
- ``emotion_rise``: how far an emotional render moves the emotion's
  blendshapes above the neutral render of the same photo and text.
- ``rest_expression``: the blendshapes of a photo at rest (a photo that
  already smiles), or None when the model is not there or finds no face.
- ``read_image``: one photo with a shared, cached landmarker (the expression
  API's ``mediapipe`` engine uses it).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.pipeline.errors import EngineUnavailable, InvalidOption

logger = logging.getLogger(__name__)

TASK_RELPATH = Path("mediapipe") / "face_landmarker.task"
MODES = ("image", "video")
NEUTRAL_CATEGORY = "_neutral"  # MediaPipe's 52nd category; the other 51 are ARKit names

# Each emotion is a sum of parts; each part is the mean of its blendshapes
# (left/right pairs count once). "sad = frown plus browInnerUp", as issue 17 words it.
EMOTION_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "happy": (("mouthSmileLeft", "mouthSmileRight"),),
    "sad": (("mouthFrownLeft", "mouthFrownRight"), ("browInnerUp",)),
    "angry": (("browDownLeft", "browDownRight"),),
    "surprised": (("browOuterUpLeft", "browOuterUpRight", "browInnerUp"), ("eyeWideLeft", "eyeWideRight")),
}


@dataclass
class FaceReading:
    """What FaceLandmarker saw of the most prominent face in one frame."""

    blendshapes: dict[str, float]  # the 52 categories (51 ARKit names + "_neutral"), 0..1
    landmarks: np.ndarray  # (478, 3) float32: x, y in frame pixels; z relative depth on the x pixel scale (smaller = nearer)
    matrix: np.ndarray  # (4, 4) facial transformation: the canonical face into camera space (head pose)


def _running_mode(mode: str):
    from mediapipe.tasks.python import vision

    if mode not in MODES:
        raise InvalidOption(f"Unknown FaceLandmarker mode '{mode}'; valid values: {', '.join(MODES)}.")
    return vision.RunningMode.IMAGE if mode == "image" else vision.RunningMode.VIDEO


def open_landmarker(model_path: str | os.PathLike, mode: str = "image"):
    """A new FaceLandmarker (a context manager; close it) for one face with blendshapes and pose.

    Raises ``EngineUnavailable`` when the file is missing or MediaPipe cannot build from it.
    """
    path = Path(model_path)
    running_mode = _running_mode(mode)
    if not path.is_file():
        raise EngineUnavailable(f"{path.name} is missing (it belongs in models/{TASK_RELPATH.parent}/); run `python manage.py fetch_models`.")
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(path)),
        running_mode=running_mode,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
        num_faces=1,
    )
    try:
        return vision.FaceLandmarker.create_from_options(options)
    except Exception as exc:  # noqa: BLE001 - MediaPipe raises RuntimeError/ValueError with its own words
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineUnavailable(f"{path.name} failed to load in MediaPipe: {first}") from exc


def _mp_image(frame_bgr: np.ndarray):
    import cv2
    import mediapipe as mp

    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise InvalidOption(f"Expected a BGR frame of shape (h, w, 3), got {frame_bgr.shape}.")
    rgb = np.ascontiguousarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)


def _reading(result, size: tuple[int, int]) -> FaceReading | None:
    if not result.face_landmarks or not result.face_blendshapes:
        return None
    w, h = size
    points = np.array([(p.x * w, p.y * h, p.z * w) for p in result.face_landmarks[0]], dtype=np.float32)
    shapes = {c.category_name: float(min(1.0, max(0.0, c.score))) for c in result.face_blendshapes[0]}
    matrix = np.asarray(result.facial_transformation_matrixes[0], dtype=np.float64) if result.facial_transformation_matrixes else np.eye(4)
    return FaceReading(blendshapes=shapes, landmarks=points, matrix=matrix)


def detect(landmarker, frame_bgr: np.ndarray, timestamp_ms: int | None = None) -> FaceReading | None:
    """One frame through an open landmarker: IMAGE mode without a timestamp, VIDEO mode with one."""
    image = _mp_image(frame_bgr)
    result = landmarker.detect(image) if timestamp_ms is None else landmarker.detect_for_video(image, int(timestamp_ms))
    return _reading(result, (frame_bgr.shape[1], frame_bgr.shape[0]))


def read_faces(frames: Iterable[np.ndarray], model_path: str | os.PathLike, *, mode: str = "video", fps: float = 25.0) -> list[FaceReading | None]:
    """Every frame's reading (None where no face was found), in frame order."""
    if fps <= 0:
        raise InvalidOption(f"fps must be positive, got {fps}.")
    out: list[FaceReading | None] = []
    last_ts = -1
    with open_landmarker(model_path, mode) as landmarker:
        for i, frame in enumerate(frames):
            if mode == "image":
                out.append(detect(landmarker, frame))
                continue
            ts = max(last_ts + 1, int(round(i * 1000.0 / fps)))  # VIDEO mode needs strictly rising timestamps
            last_ts = ts
            out.append(detect(landmarker, frame, ts))
    return out


def read_blendshapes(frames: Iterable[np.ndarray], model_path: str | os.PathLike, *, mode: str = "video", fps: float = 25.0) -> list[dict[str, float]]:
    """Per frame, the 52 blendshape scores ({} where no face was found)."""
    return [r.blendshapes if r is not None else {} for r in read_faces(frames, model_path, mode=mode, fps=fps)]


def emotion_score(shapes: dict[str, float], emotion: str) -> float:
    """The emotion's group score on one frame: the sum of its parts, each the mean of its blendshapes."""
    if emotion not in EMOTION_GROUPS:
        raise InvalidOption(f"Unknown emotion '{emotion}'; valid values: {', '.join(EMOTION_GROUPS)}.")
    return float(sum(np.mean([shapes.get(name, 0.0) for name in part]) for part in EMOTION_GROUPS[emotion]))


def emotion_rise(neutral: Sequence[dict[str, float]], emotional: Sequence[dict[str, float]], emotion: str) -> float:
    """Mean group score over the emotional render's frames minus the same over the neutral render's.

    Frames without a face ({}) are left out; NaN when either render has no face at all.
    """
    def mean_score(frames: Sequence[dict[str, float]]) -> float:
        scores = [emotion_score(s, emotion) for s in frames if s]
        return float(np.mean(scores)) if scores else math.nan

    if emotion not in EMOTION_GROUPS:
        raise InvalidOption(f"Unknown emotion '{emotion}'; valid values: {', '.join(EMOTION_GROUPS)}.")
    return mean_score(emotional) - mean_score(neutral)


# One IMAGE-mode landmarker per process, shared by the web/worker threads.
# The process id is part of the key: a landmarker built before a fork is never used in the child.
_lock = threading.RLock()
_shared: dict[tuple, object] = {}


def image_landmarker(model_path: str | os.PathLike):
    """The shared IMAGE-mode landmarker for ``model_path`` (rebuilt when the file changes)."""
    path = Path(model_path)
    st = path.stat() if path.is_file() else None
    key = (str(path), st.st_mtime_ns if st else None, st.st_size if st else None, os.getpid())
    with _lock:
        landmarker = _shared.get(key)
        if landmarker is None:
            landmarker = open_landmarker(path, "image")
            for old_key, old in list(_shared.items()):
                if old_key[3] == os.getpid():
                    old.close()
            _shared.clear()
            _shared[key] = landmarker
    return landmarker


def read_image(image_bgr: np.ndarray, model_path: str | os.PathLike) -> FaceReading | None:
    """One photo through the shared landmarker; None when no face is found."""
    with _lock:  # a landmarker serves one call at a time, and is not swapped out mid-call
        return detect(image_landmarker(model_path), image_bgr)


def rest_expression(image_bgr: np.ndarray, model_path: str | os.PathLike) -> dict[str, float] | None:
    """The photo's own expression (the 52 blendshapes), or None when the model is absent/unloadable or no face is found."""
    try:
        reading = read_image(image_bgr, model_path)
    except EngineUnavailable as exc:
        logger.info("rest expression not read with FaceLandmarker: %s", exc.detail)
        return None
    return reading.blendshapes if reading is not None else None
