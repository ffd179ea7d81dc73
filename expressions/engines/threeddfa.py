"""3DDFA_V2 (user-supplied ONNX): head pose and expression from the 62 3DMM parameters.

Files under ``<models>/threeddfa/`` (all from the 3DDFA_V2 repository):
- ``mb1_120x120.onnx``: 1x3x120x120 BGR input, (x - 127.5) / 128; output 1x62;
- ``param_mean_std_62d_120x120.pkl``: ``{'mean': (62,), 'std': (62,)}``; the net's
  output is normalised, ``param = out * std + mean``;
- ``bfm_noneck_v3.pkl``: the BFM basis (``u``, ``w_shp``, ``w_exp``, ``keypoints``)
  that turns parameters into the 68 iBUG landmarks the blendshapes are measured on.
``param`` = pose 12 (a 3x4 matrix [s*R | t]), shape 40, expression 10. The
crop follows 3DDFA_V2's ``parse_roi_box_from_bbox`` on the face box, and the
pose follows its ``P2sRt`` + ``matrix2angle`` (yaw, pitch, roll in degrees).
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

import numpy as np

from expressions.engines import onnx_common
from expressions.engines.common import EngineOutput, EngineStatus
from expressions.engines.mediapipe_geometry import IBUG68_SCHEME, blendshapes_from_points
from expressions.model_files import display_path, models_dir, pickle_reason

logger = logging.getLogger(__name__)

MODEL_NAME = "mb1_120x120.onnx"
MEAN_STD_NAME = "param_mean_std_62d_120x120.pkl"
BFM_NAME = "bfm_noneck_v3.pkl"
SIZE = 120
SOURCE = "3DDFA_V2 mb1_120x120.onnx"

_lock = threading.Lock()
_aux: dict[tuple, tuple[np.ndarray, np.ndarray, Bfm68]] = {}


class Bfm68:
    """The 68-keypoint slice of the BFM basis (as 3DDFA_V2's ``BFMModel`` keeps it)."""

    def __init__(self, bfm: dict):
        keypoints = np.asarray(bfm["keypoints"]).astype(np.int64).reshape(-1)
        self.u_base = np.asarray(bfm["u"], np.float32).reshape(-1, 1)[keypoints]
        self.w_shp_base = np.asarray(bfm["w_shp"], np.float32)[keypoints][:, :40]
        self.w_exp_base = np.asarray(bfm["w_exp"], np.float32)[keypoints][:, :10]

    def landmarks(self, param: np.ndarray) -> np.ndarray:
        """3x68 points in the 120x120 crop frame before 3DDFA's flip (``R @ shape + t``)."""
        p = param[:12].reshape(3, 4)
        shape = self.u_base + self.w_shp_base @ param[12:52].reshape(-1, 1) + self.w_exp_base @ param[52:62].reshape(-1, 1)
        return p[:, :3] @ shape.reshape(3, -1, order="F") + p[:, 3:4]


def model_dir(models: Path | None = None) -> Path:
    return (models or models_dir()) / "threeddfa"


def _bfm_reason(path: Path) -> tuple[str, dict | None]:
    reason, bfm = pickle_reason(path, required_keys={"u": None, "w_shp": None, "w_exp": None, "keypoints": (204,)})
    if reason:
        return reason, None
    rows = np.asarray(bfm["u"]).reshape(-1).shape[0]
    w_shp, w_exp = np.asarray(bfm["w_shp"]), np.asarray(bfm["w_exp"])
    if w_shp.ndim != 2 or w_exp.ndim != 2 or w_shp.shape[0] != rows or w_exp.shape[0] != rows or w_shp.shape[1] < 40 or w_exp.shape[1] < 10:
        return f"{display_path(path)} has inconsistent BFM arrays (u {rows}, w_shp {w_shp.shape}, w_exp {w_exp.shape})", None
    if int(np.max(bfm["keypoints"])) >= rows:
        return f"{display_path(path)} keypoints point outside the basis", None
    return "", bfm


def _load_aux(directory: Path) -> tuple[str, tuple | None]:
    mean_std_path, bfm_path = directory / MEAN_STD_NAME, directory / BFM_NAME
    key = tuple((str(p), p.stat().st_mtime if p.exists() else 0.0) for p in (mean_std_path, bfm_path))
    with _lock:
        if key in _aux:
            return "", _aux[key]
    reason, mean_std = pickle_reason(mean_std_path, required_keys={"mean": (62,), "std": (62,)})
    if reason:
        return reason + " (3DDFA_V2 outputs normalised parameters; this file de-normalises them)", None
    reason, bfm = _bfm_reason(bfm_path)
    if reason:
        return reason + " (needed to turn 3DDFA_V2 parameters into landmarks)", None
    aux = (np.asarray(mean_std["mean"], np.float32).reshape(62), np.asarray(mean_std["std"], np.float32).reshape(62), Bfm68(bfm))
    with _lock:
        _aux.clear()
        _aux[key] = aux
    return "", aux


def check(models: Path | None = None) -> EngineStatus:
    directory = model_dir(models)
    path = directory / MODEL_NAME
    reason = onnx_common.onnx_reason(path, (1, 3, SIZE, SIZE), (1, 62))
    if not reason:
        reason, _ = _load_aux(directory)
    return EngineStatus(not reason, reason, display_path(path), {"files": [MODEL_NAME, MEAN_STD_NAME, BFM_NAME]})


def roi_box(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """3DDFA_V2's ``parse_roi_box_from_bbox``: a square 1.58x the box, shifted down 14%."""
    left, top, right, bottom = bbox
    old_size = (right - left + bottom - top) / 2.0
    cx = right - (right - left) / 2.0
    cy = bottom - (bottom - top) / 2.0 + old_size * 0.14
    size = int(old_size * 1.58)
    return (cx - size / 2.0, cy - size / 2.0, cx + size / 2.0, cy + size / 2.0)


def crop_input(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The 1x3x120x120 network input: the roi (zero outside the image), BGR, (x - 127.5) / 128."""
    import cv2

    h, w = image_bgr.shape[:2]
    sx, sy, ex, ey = (int(round(v)) for v in box)
    crop = np.zeros((ey - sy, ex - sx, 3), np.uint8)
    x0, y0, x1, y1 = max(0, sx), max(0, sy), min(w, ex), min(h, ey)
    if x1 > x0 and y1 > y0:
        crop[y0 - sy : y1 - sy, x0 - sx : x1 - sx] = image_bgr[y0:y1, x0:x1]
    crop = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    return ((crop.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]


def pose_from_param(param: np.ndarray) -> dict[str, float]:
    """3DDFA_V2's ``P2sRt`` then ``matrix2angle``: yaw, pitch, roll in degrees."""
    p = param[:12].reshape(3, 4)
    r1, r2 = p[0, :3], p[1, :3]
    r1 = r1 / np.linalg.norm(r1)
    r2 = r2 / np.linalg.norm(r2)
    rot = np.stack([r1, r2, np.cross(r1, r2)])
    if rot[2, 0] > 0.998:
        z, x = 0.0, math.pi / 2
        y = z + math.atan2(-rot[0, 1], -rot[0, 2])
    elif rot[2, 0] < -0.998:
        z, x = 0.0, -math.pi / 2
        y = -z + math.atan2(rot[0, 1], rot[0, 2])
    else:
        x = math.asin(float(np.clip(rot[2, 0], -1.0, 1.0)))
        y = math.atan2(rot[2, 1] / math.cos(x), rot[2, 2] / math.cos(x))
        z = math.atan2(rot[1, 0] / math.cos(x), rot[0, 0] / math.cos(x))
    return {"yaw": round(math.degrees(x), 2), "pitch": round(math.degrees(y), 2), "roll": round(math.degrees(z), 2)}


def landmarks_in_image(points: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """3DDFA_V2's ``similar_transform``: crop-frame points -> image pixels (68x2)."""
    pts = points.copy()
    pts[0] -= 1
    pts[1] = SIZE - pts[1]
    sx, sy, ex, ey = box
    pts[0] = pts[0] * (ex - sx) / SIZE + sx
    pts[1] = pts[1] * (ey - sy) / SIZE + sy
    return pts[:2].T


def estimate(image_bgr: np.ndarray, face_bbox: tuple[int, int, int, int], models: Path | None = None) -> EngineOutput:
    directory = model_dir(models)
    reason, aux = _load_aux(directory)
    if reason:
        raise RuntimeError(reason)
    mean, std, bfm = aux
    box = roi_box(face_bbox)
    out = onnx_common.run(directory / MODEL_NAME, crop_input(image_bgr, box)).reshape(-1)[:62]
    param = out * std + mean
    points = landmarks_in_image(bfm.landmarks(param), box)
    return EngineOutput(blendshapes=blendshapes_from_points(points, IBUG68_SCHEME), head_pose=pose_from_param(param), source=SOURCE)
