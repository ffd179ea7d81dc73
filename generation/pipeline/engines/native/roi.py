"""Where a painter works inside the animated region (the ROI) of a frame."""

from __future__ import annotations

import numpy as np


def box_around(points: np.ndarray, origin: tuple[int, int], shape: tuple[int, ...], pad: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in ROI pixels: the box of ``points`` (frame pixels) grown by ``pad``, clipped to an ROI of ``shape``.

    ``origin`` is the ROI's top-left corner in the frame. The box may be empty or
    thin where the points leave the ROI; callers check its size.
    """
    ox, oy = origin
    x0 = max(0, int(np.floor(points[:, 0].min())) - pad - ox)
    y0 = max(0, int(np.floor(points[:, 1].min())) - pad - oy)
    x1 = min(shape[1], int(np.ceil(points[:, 0].max())) + pad + 1 - ox)
    y1 = min(shape[0], int(np.ceil(points[:, 1].max())) + pad + 1 - oy)
    return x0, y0, x1, y1


def carry_sprite(sprite: np.ndarray, sprite_origin: np.ndarray, motion: np.ndarray, origin: tuple[int, int],
                 shape: tuple[int, ...], pad: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """``sprite`` (placed at ``sprite_origin`` in the rest frame) moved by the affine ``motion``
    (2x3, rest frame pixels -> now) into the ROI: (the moved sprite, its box in ROI pixels),
    or None when too little of it lands in the ROI."""
    import cv2

    sh, sw = sprite.shape[:2]
    corners = np.array([[0, 0], [sw, 0], [0, sh], [sw, sh]], np.float64) + sprite_origin
    x0, y0, x1, y1 = box_around(corners @ motion[:, :2].T + motion[:, 2], origin, shape, pad)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    to_box = motion.copy()  # the sprite's pixels -> the box's pixels
    to_box[:, 2] = motion[:, :2] @ sprite_origin + motion[:, 2] - (origin[0] + x0, origin[1] + y0)
    moved = cv2.warpAffine(sprite, to_box, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return moved, (x0, y0, x1, y1)
