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
