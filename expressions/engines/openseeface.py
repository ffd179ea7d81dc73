"""OpenSeeFace landmark model (user-supplied ``lm_model*_opt.onnx``): 66 landmarks.

Layout, as OpenSeeFace's ``tracker.py`` decodes it: input 1x3x224x224 RGB,
``(x/255 - mean) / std`` with ImageNet mean (0.485, 0.456, 0.406) and std
(0.229, 0.224, 0.225); output 1x198x28x28 = 66 heatmaps, then 66 offset maps
for the row (vertical) coordinate, then 66 for the column. For landmark i
with heatmap argmax at (row, col):
``y = crop_y + sy * (223 * row / 27 + 223 * logit(off_row) / 16)`` and the same
for x with the column; ``logit(p) = log(p / (1 - p))``, ``sy = crop_h / 224``.
The crop is the face box grown 10% sideways and 12.5% up and down (as
OpenSeeFace grows its detector's box). The 66 points are the iBUG 68 without
the inner mouth corners (68's 60 and 64), so they are measured with the
68-point scheme after filling those from the outer corners. OpenSeeFace
gives no 3D pose without its own PnP model, so only roll is reported.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from expressions.engines import onnx_common
from expressions.engines.common import EngineOutput, EngineStatus, expand_box
from expressions.engines.mediapipe_geometry import IBUG68_SCHEME, blendshapes_from_points
from expressions.model_files import display_path, models_dir

logger = logging.getLogger(__name__)

RES = 224
OUT_RES = 28
N_POINTS = 66
LOGIT_FACTOR = 16.0
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# Best quality first; any other lm_model*_opt.onnx after these.
PREFERRED = ("lm_model3_opt.onnx", "lm_model4_opt.onnx", "lm_model2_opt.onnx", "lm_model1_opt.onnx", "lm_model0_opt.onnx")
SOURCE_PREFIX = "OpenSeeFace "


def model_path(models: Path | None = None) -> Path:
    """The model file to use (the first preferred one present), or the preferred name when none is."""
    directory = (models or models_dir()) / "openseeface"
    for name in PREFERRED:
        if (directory / name).exists():
            return directory / name
    others = sorted(directory.glob("lm_model*_opt.onnx")) if directory.is_dir() else []
    return others[0] if others else directory / PREFERRED[0]


def check(models: Path | None = None) -> EngineStatus:
    path = model_path(models)
    reason = onnx_common.onnx_reason(path, (1, 3, RES, RES), (1, 3 * N_POINTS, OUT_RES, OUT_RES))
    if reason and not path.exists():
        reason = f"no lm_model*_opt.onnx in {display_path(path.parent)} (expected e.g. {PREFERRED[0]})"
    return EngineStatus(not reason, reason, display_path(path))


def crop_box(face_bbox: tuple[int, int, int, int], image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    return expand_box(face_bbox, image_size, sx=0.1, sy_top=0.125, sy_bottom=0.125)


def preprocess(image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = box
    rgb = image_bgr[y0:y1, x0:x1, ::-1].astype(np.float32)
    rgb = cv2.resize(rgb, (RES, RES), interpolation=cv2.INTER_LINEAR)
    return ((rgb / 255.0 - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1.0 - 1e-7)
    return np.log(p / (1.0 - p)) / LOGIT_FACTOR


def decode(tensor: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(66x2 x,y pixel landmarks, 66 confidences) from one 198x28x28 output."""
    t = tensor.reshape(3 * N_POINTS, OUT_RES * OUT_RES)
    heat = t[:N_POINTS]
    idx = heat.argmax(axis=1)
    conf = heat[np.arange(N_POINTS), idx]
    off_row = _logit(t[N_POINTS : 2 * N_POINTS][np.arange(N_POINTS), idx])
    off_col = _logit(t[2 * N_POINTS :][np.arange(N_POINTS), idx])
    x0, y0, x1, y1 = box
    res = RES - 1
    sy, sx = (y1 - y0) / float(RES), (x1 - x0) / float(RES)
    rows, cols = idx // OUT_RES, idx % OUT_RES
    y = y0 + sy * (res * rows / (OUT_RES - 1) + res * off_row)
    x = x0 + sx * (res * cols / (OUT_RES - 1) + res * off_col)
    return np.stack([x, y], axis=1), conf


def to_ibug68(points66: np.ndarray) -> np.ndarray:
    """Insert the inner mouth corners (68's 60 and 64) from the outer ones (48, 54)."""
    return np.concatenate([points66[:60], points66[48:49], points66[60:63], points66[54:55], points66[63:66]])


def estimate(image_bgr: np.ndarray, face_bbox: tuple[int, int, int, int], models: Path | None = None) -> EngineOutput:
    path = model_path(models)
    h, w = image_bgr.shape[:2]
    box = crop_box(face_bbox, (w, h))
    out = onnx_common.run(path, preprocess(image_bgr, box))
    points66, conf = decode(out[0], box)
    points = to_ibug68(points66)
    eye_r, eye_l = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    roll = math.degrees(math.atan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0]))
    return EngineOutput(
        blendshapes=blendshapes_from_points(points, IBUG68_SCHEME),
        head_pose={"roll": round(roll, 2)},
        source=SOURCE_PREFIX + path.name + f" (mean confidence {float(conf.mean()):.2f})",
    )
