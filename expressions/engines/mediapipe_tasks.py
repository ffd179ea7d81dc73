"""MediaPipe Tasks FaceLandmarker: MediaPipe's own blendshape network, from
``<models>/mediapipe/face_landmarker.task`` (``manage.py fetch_models`` fetches
it; a user-supplied bundle works too).

A ``.task`` file is a zip bundle of TFLite models; a pointer, truncated or fake
bundle is rejected either by the zip check or when MediaPipe fails to build
and run the landmarker from it (the error is kept as the reason). The
landmarker itself lives in ``generation.pipeline.measure.blendshapes``, shared
with the render-side read-back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from expressions.engines.common import EngineOutput, EngineStatus
from expressions.model_files import display_path, models_dir, zip_reason
from generation.pipeline.errors import EngineUnavailable
from generation.pipeline.measure import blendshapes as landmarker

logger = logging.getLogger(__name__)

TASK_RELPATH = landmarker.TASK_RELPATH
TASK_MEMBERS = ["face_landmarks_detector.tflite", "face_detector.tflite", "face_blendshapes.tflite"]
SOURCE = "face_landmarker.task"
# MediaPipe scores 52 categories: 51 ARKit blendshapes and "_neutral", which is no
# ARKit name, so it comes back as ``neutral`` beside them (ARKit's tongueOut has no MediaPipe score).
BLENDSHAPE_COUNT = 51
PROBE_SIZE = 128


def task_path(models: Path | None = None) -> Path:
    return (models or models_dir()) / TASK_RELPATH


def check(models: Path | None = None) -> EngineStatus:
    """Available when the bundle is intact and MediaPipe builds a landmarker from it and runs it."""
    path = task_path(models)
    shown = display_path(path)
    reason = zip_reason(path, TASK_MEMBERS)
    if reason:
        if not path.exists():
            reason += "; run `python manage.py fetch_models`"
        return EngineStatus(False, reason, shown)
    try:
        landmarker.read_image(np.zeros((PROBE_SIZE, PROBE_SIZE, 3), np.uint8), path)  # loads the bundle, runs the graph
    except EngineUnavailable as exc:
        return EngineStatus(False, exc.detail, shown)
    except Exception as exc:  # noqa: BLE001 - a bundle that loads but cannot run is unavailable too
        return EngineStatus(False, f"{shown} loaded but failed to run: {type(exc).__name__}: {exc}", shown)
    return EngineStatus(True, "", shown, {"blendshapes": BLENDSHAPE_COUNT})


def estimate(image_bgr: np.ndarray, models: Path | None = None) -> EngineOutput | None:
    """The ARKit blendshapes of the most prominent face, or None when there is no face."""
    reading = landmarker.read_image(image_bgr, task_path(models))
    if reading is None:
        return None
    shapes = {name: score for name, score in reading.blendshapes.items() if name != landmarker.NEUTRAL_CATEGORY}
    return EngineOutput(blendshapes=shapes, source=SOURCE, neutral=reading.blendshapes.get(landmarker.NEUTRAL_CATEGORY))
