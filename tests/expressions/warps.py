"""Simple test-only image warps that change a real face's expression."""

from __future__ import annotations

import numpy as np


def _remap(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xx - dx, yy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _bump(h: int, w: int, centre: np.ndarray, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2.0 * sigma**2))


def neutralise_smile(image: np.ndarray, landmarks: np.ndarray, iod: float) -> np.ndarray:
    """Pull both mouth corners down and inward (a smile -> a flat mouth)."""
    h, w = image.shape[:2]
    dx = np.zeros((h, w), np.float32)
    dy = np.zeros((h, w), np.float32)
    centre = landmarks[[13, 14], :2].mean(axis=0)
    for idx in (61, 291):
        corner = landmarks[idx, :2]
        inward = np.sign(centre[0] - corner[0]) * 0.10 * iod
        bump = _bump(h, w, corner, 0.22 * iod)
        dx += inward * bump
        dy += 0.14 * iod * bump
    return _remap(image, dx, dy)


def open_jaw(image: np.ndarray, landmarks: np.ndarray, iod: float) -> np.ndarray:
    """Move the lower lip and chin down (an opened mouth)."""
    h, w = image.shape[:2]
    lower_lip = landmarks[14, :2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    below = np.clip((yy - lower_lip[1]) / (0.05 * iod) + 1.0, 0.0, 1.0)  # 0 above the lip line, 1 below
    across = np.exp(-((xx - lower_lip[0]) ** 2) / (2.0 * (0.6 * iod) ** 2))
    fade = np.exp(-np.clip(yy - landmarks[152, 1], 0, None) / (0.5 * iod))
    dy = 0.35 * iod * below * across * fade
    return _remap(image, np.zeros_like(dy), dy.astype(np.float32))
