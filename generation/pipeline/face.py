"""Face detection and mesh (MediaPipe 0.10.21 FaceMesh, 478 points) and the
output geometry of each preprocess mode."""

from __future__ import annotations

import logging
import threading

import numpy as np

from generation.pipeline.choices import RESOLUTION_HEIGHTS
from generation.pipeline.types import FaceAnalysis, OutputGeometry

logger = logging.getLogger(__name__)

# MediaPipe face-mesh landmark indices (canonical topology).
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
UPPER_INNER_LIP_MID, LOWER_INNER_LIP_MID = 13, 14
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291  # subject's right is image left
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
RIGHT_EYE_UPPER_LOWER = (159, 145)
LEFT_EYE_UPPER_LOWER = (386, 374)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER = 468, 473
RIGHT_BROW = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46]
LEFT_BROW = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
CHIN, NOSE_TIP, FOREHEAD = 152, 1, 10

# The face mesh graph is not thread-safe; one instance per process, guarded.
_mesh = None
_mesh_lock = threading.Lock()


def _face_mesh():
    global _mesh
    if _mesh is None:
        import mediapipe as mp

        _mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=1, min_detection_confidence=0.5
        )
    return _mesh


def preload() -> threading.Thread | None:
    """Import MediaPipe (~0.5 s) and build the mesh graph on a background thread (None: already built).

    The render calls this before it waits on the TTS and ffmpeg, so those waits do the
    import instead of the face stage after them. Failures are left for ``detect_face``
    (or the native engine's availability) to report.
    """
    if _mesh is not None:
        return None
    thread = threading.Thread(target=_preload, name="face-preload", daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    try:
        with _mesh_lock:
            _face_mesh()
    except Exception:  # noqa: BLE001 - reported where the mesh is used
        logger.debug("preloading the face mesh failed", exc_info=True)


def detect_face(image_bgr: np.ndarray) -> FaceAnalysis | None:
    """The 478-point mesh of the most prominent face, or None when there is none."""
    import cv2

    h, w = image_bgr.shape[:2]
    # MediaPipe works best around 256-1024 px; very large photos are measured downscaled.
    scale = min(1.0, 1280.0 / max(h, w))
    probe = image_bgr if scale == 1.0 else cv2.resize(image_bgr, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(probe, cv2.COLOR_BGR2RGB)
    with _mesh_lock:
        result = _face_mesh().process(rgb)
    if not result.multi_face_landmarks:
        return None
    lm = result.multi_face_landmarks[0].landmark
    pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lm], dtype=np.float32)
    x0, y0 = np.floor(pts[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts[:, :2].max(axis=0)).astype(int)
    return FaceAnalysis(landmarks=pts, image_size=(w, h), bbox=(int(x0), int(y0), int(x1), int(y1)))


def inter_ocular_distance(points: np.ndarray) -> float:
    """Distance between the eye centres, the face's own length unit."""
    right = points[list(RIGHT_EYE_CORNERS), :2].mean(axis=0)
    left = points[list(LEFT_EYE_CORNERS), :2].mean(axis=0)
    return float(np.linalg.norm(left - right))


def _even(n: float) -> int:
    return max(2, int(round(n / 2.0)) * 2)


def _square_around(cx: float, cy: float, side: float) -> tuple[int, int, int, int]:
    half = side / 2.0
    return (int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half)))


def output_geometry(face: FaceAnalysis | None, image_size: tuple[int, int], preprocess: str, resolution: str) -> OutputGeometry:
    """The source region and output size of each preprocess mode.

    - ``full``: the whole photo; height = resolution, width keeps the aspect.
    - ``extfull``: as ``full``, with a wider animated region around the face.
    - ``resize``: the whole photo padded to a centred square, resolution x resolution.
    - ``crop``: a square around the face (1.6x its size), resolution x resolution.
    - ``extcrop``: a wider square with head and shoulders (2.6x), resolution x resolution.
    Without a face, the crop modes fall back to the centred square.
    """
    w, h = image_size
    height = RESOLUTION_HEIGHTS[resolution]
    if preprocess in ("full", "extfull"):
        margin = 0.6 if preprocess == "extfull" else 0.25
        return OutputGeometry(source_box=(0, 0, w, h), size=(_even(height * w / h), _even(height)), animate_margin=margin)
    side = float(max(w, h))
    cx, cy = w / 2.0, h / 2.0
    if preprocess in ("crop", "extcrop") and face is not None:
        x0, y0, x1, y1 = face.bbox
        face_side = max(x1 - x0, y1 - y0)
        side = face_side * (1.6 if preprocess == "crop" else 2.6)
        cx = (x0 + x1) / 2.0
        # Shift down for head and shoulders, less so for the tight crop.
        cy = (y0 + y1) / 2.0 + face_side * (0.05 if preprocess == "crop" else 0.3)
    box = _square_around(cx, cy, side)
    return OutputGeometry(source_box=box, size=(_even(height), _even(height)), animate_margin=0.25)


def crop_to_geometry(image: np.ndarray, geometry: OutputGeometry) -> np.ndarray:
    """The source box, border-replicated where it leaves the image, scaled to the output size."""
    import cv2

    x0, y0, x1, y1 = geometry.source_box
    h, w = image.shape[:2]
    pad_l, pad_t = max(0, -x0), max(0, -y0)
    pad_r, pad_b = max(0, x1 - w), max(0, y1 - h)
    if pad_l or pad_t or pad_r or pad_b:
        image = cv2.copyMakeBorder(image, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
        x0, x1, y0, y1 = x0 + pad_l, x1 + pad_l, y0 + pad_t, y1 + pad_t
    region = image[y0:y1, x0:x1]
    out_w, out_h = geometry.size
    interp = cv2.INTER_AREA if region.shape[1] > out_w else cv2.INTER_CUBIC
    return cv2.resize(region, (out_w, out_h), interpolation=interp)


def transform_face(face: FaceAnalysis, geometry: OutputGeometry) -> FaceAnalysis:
    """The same mesh expressed in output-frame pixels."""
    x0, y0, x1, y1 = geometry.source_box
    sx = geometry.size[0] / float(x1 - x0)
    sy = geometry.size[1] / float(y1 - y0)
    pts = face.landmarks.copy()
    pts[:, 0] = (pts[:, 0] - x0) * sx
    pts[:, 1] = (pts[:, 1] - y0) * sy
    pts[:, 2] = pts[:, 2] * sx
    bx0, by0 = pts[:, :2].min(axis=0)
    bx1, by1 = pts[:, :2].max(axis=0)
    return FaceAnalysis(landmarks=pts, image_size=geometry.size, bbox=(int(bx0), int(by0), int(np.ceil(bx1)), int(np.ceil(by1))))
