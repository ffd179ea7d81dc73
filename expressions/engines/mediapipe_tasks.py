"""MediaPipe Tasks FaceLandmarker: the full 52 ARKit blendshapes, when the user
places ``face_landmarker.task`` under ``<models>/mediapipe/``.

A ``.task`` file is a zip bundle of three TFLite models; a pointer, truncated
or fake bundle is rejected either by the zip check or when MediaPipe fails to
build the landmarker from it (the error is kept as the reason).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from expressions.engines.common import EngineOutput, EngineStatus
from expressions.model_files import display_path, models_dir, zip_reason

logger = logging.getLogger(__name__)

TASK_RELPATH = Path("mediapipe") / "face_landmarker.task"
TASK_MEMBERS = ["face_landmarks_detector.tflite", "face_detector.tflite", "face_blendshapes.tflite"]
SOURCE = "face_landmarker.task"

_lock = threading.Lock()
_landmarkers: dict[tuple[str, float], object] = {}


def task_path(models: Path | None = None) -> Path:
    return (models or models_dir()) / TASK_RELPATH


def _landmarker(path: Path):
    key = (str(path), path.stat().st_mtime)
    with _lock:
        lm = _landmarkers.get(key)
        if lm is None:
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(path)),
                running_mode=vision.RunningMode.IMAGE,
                output_face_blendshapes=True,
                num_faces=1,
            )
            lm = vision.FaceLandmarker.create_from_options(options)
            for old in _landmarkers.values():
                old.close()
            _landmarkers.clear()
            _landmarkers[key] = lm
    return lm


def check(models: Path | None = None) -> EngineStatus:
    """Available when the bundle is intact and MediaPipe builds a landmarker from it."""
    path = task_path(models)
    shown = display_path(path)
    reason = zip_reason(path, TASK_MEMBERS)
    if reason:
        return EngineStatus(False, reason, shown)
    try:
        _landmarker(path)
    except Exception as exc:  # noqa: BLE001 - MediaPipe raises RuntimeError/ValueError with its own words
        return EngineStatus(False, f"{shown} failed to load in MediaPipe: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}", shown)
    return EngineStatus(True, "", shown, {"blendshapes": 52})


def estimate(image_bgr: np.ndarray, models: Path | None = None) -> EngineOutput | None:
    """The 52 blendshapes of the most prominent face, or None when there is no face."""
    import cv2
    import mediapipe as mp

    rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    landmarker = _landmarker(task_path(models))
    with _lock:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    if not result.face_blendshapes:
        return None
    shapes = {c.category_name: float(min(1.0, max(0.0, c.score))) for c in result.face_blendshapes[0] if c.category_name != "_neutral"}
    return EngineOutput(blendshapes=shapes, source=SOURCE)
