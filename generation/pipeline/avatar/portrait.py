"""The default avatar: a presenter portrait the project paints itself.

Used when a request brings text but no photo. Nothing is loaded from disk or
the network: a frontal head-and-shoulders portrait is painted procedurally
with numpy/OpenCV. The face is lit from a height map (ellipsoid head plus
nose, brows, cheeks, lips, chin) so it has real 3D shading, which is what the
face detector and mesh regressor key on. Drawn at 2x and downsampled with
INTER_AREA for anti-aliasing. Deterministic: no randomness.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from generation.pipeline.avatar import parts
from generation.pipeline.avatar.canvas import (
    _CHIN_Y,
    _CX,
    _EYE_DX,
    _EYE_HW,
    _EYE_Y,
    _IRIS_DY,
    _IRIS_R,
    _LIP_LO,
    _LIP_UP,
    _MOUTH_HW,
    _MOUTH_Y,
    _NOSE_Y,
    SS,
    _Canvas,
)

logger = logging.getLogger(__name__)

# Bump whenever the painting changes so cached PNGs are re-rendered.
AVATAR_VERSION = "1"
AVATAR_FILENAME = "default_avatar.png"
DEFAULT_SIZE = 768



@dataclass(frozen=True)
class AvatarLayout:
    """Where the painter put the features, in pixels of a ``size`` render."""

    size: int
    right_eye: tuple[float, float]  # subject's right = image left (MediaPipe 468)
    left_eye: tuple[float, float]  # subject's left = image right (MediaPipe 473)
    iris_radius: float
    eye_half_width: float
    mouth_center: tuple[float, float]  # centre of the lip line
    mouth_half_width: float
    mouth_top: float  # y of the upper lip's top edge
    mouth_bottom: float  # y of the lower lip's bottom edge
    nose_tip: tuple[float, float]
    chin: tuple[float, float]

    @property
    def inter_ocular(self) -> float:
        return self.left_eye[0] - self.right_eye[0]


def avatar_layout(size: int = DEFAULT_SIZE) -> AvatarLayout:
    s = float(size)
    eye_y = (_EYE_Y + _IRIS_DY) * s
    return AvatarLayout(
        size=size,
        right_eye=((_CX - _EYE_DX) * s, eye_y),
        left_eye=((_CX + _EYE_DX) * s, eye_y),
        iris_radius=_IRIS_R * s,
        eye_half_width=_EYE_HW * s,
        mouth_center=(_CX * s, _MOUTH_Y * s),
        mouth_half_width=_MOUTH_HW * s,
        mouth_top=(_MOUTH_Y - _LIP_UP) * s,
        mouth_bottom=(_MOUTH_Y + _LIP_LO) * s,
        nose_tip=(_CX * s, (_NOSE_Y - 0.012) * s),
        chin=(_CX * s, _CHIN_Y * s),
    )


def render_default_avatar(size: int = DEFAULT_SIZE) -> np.ndarray:
    """Paint the default avatar: a ``size`` x ``size`` BGR uint8 image."""
    c = _Canvas(size * SS)
    parts._background(c)
    parts._torso(c)
    parts._neck(c)
    parts._collar(c)
    parts._ears(c)
    parts._face(c)
    for side in (-1, 1):
        parts._eye(c, side)
        parts._brow(c, side)
    parts._hair(c)
    small = cv2.resize(c.img, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8)


def default_avatar_path(cache_dir: Path) -> Path:
    """The default avatar PNG in ``cache_dir``, painted on first use or when the painter changed."""
    cache_dir = Path(cache_dir)
    path = cache_dir / AVATAR_FILENAME
    stamp = cache_dir / (AVATAR_FILENAME + ".version")
    if (
        path.is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == AVATAR_VERSION
    ):
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    image = render_default_avatar(DEFAULT_SIZE)
    # Write-then-rename so a concurrent reader never sees a half-written file.
    tmp = cache_dir / f".{AVATAR_FILENAME}.{os.getpid()}.tmp.png"
    if not cv2.imwrite(str(tmp), image):
        raise OSError(f"could not write {tmp}")
    os.replace(tmp, path)
    stamp.write_text(AVATAR_VERSION)
    logger.info("rendered default avatar v%s to %s", AVATAR_VERSION, path)
    return path
