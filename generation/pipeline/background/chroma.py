"""Chroma keying with ffmpeg ``chromakey`` semantics, plus despill.

ffmpeg's filter converts the key colour with the BT.601 limited-range
("CCIR") matrices, and for every pixel averages over its 3x3 neighbourhood
``sqrt((du^2 + dv^2) / (255^2 * 2))``; alpha is 0 at or below ``similarity``
and ramps linearly to 1 over ``blend`` (a hard cut when blend <= 0.0001).
We do the same on full-resolution chroma (ffmpeg on yuv444p input is
identical; on yuv420p its neighbourhood spans 6x6 luma pixels).
"""

from __future__ import annotations

import cv2
import numpy as np

_K = 224.0 / 255.0
# Rows map (B, G, R, 1) -> U, V as ffmpeg's RGB_TO_U_CCIR / RGB_TO_V_CCIR do.
_UV_MATRIX = np.array(
    [
        [0.5 * _K, -0.33126 * _K, -0.16874 * _K, 128.0],
        [-0.08131 * _K, -0.41869 * _K, 0.5 * _K, 128.0],
    ],
    dtype=np.float32,
)
_DIFF_SCALE = 1.0 / (255.0 * np.sqrt(2.0))
DESPILL_BAND_PX = 3  # pixels next to a partly keyed pixel count as edge pixels too


def key_uv(color_bgr: tuple[int, int, int]) -> tuple[float, float]:
    """The key colour's (U, V) in BT.601 limited range, as ffmpeg computes it."""
    bgr1 = np.array([*color_bgr, 1.0], dtype=np.float32)
    u, v = _UV_MATRIX @ bgr1
    return float(u), float(v)


def chroma_alpha(frame: np.ndarray, uv: tuple[float, float], similarity: float, blend: float) -> np.ndarray:
    """float32 alpha (1 = keep the pixel, 0 = key colour) with chromakey's formula.

    OpenCV's full-range YCrCb is used for speed: CCIR chroma is exactly
    ``128 + 224/255 * (full - 128)``, so distances only scale by 224/255
    (the uint8 rounding adds < 0.002 to a distance).
    """
    ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    key_cb = 128.0 + (uv[0] - 128.0) / _K
    key_cr = 128.0 + (uv[1] - 128.0) / _K
    du = ycc[..., 2].astype(np.float32) - np.float32(key_cb)
    dv = ycc[..., 1].astype(np.float32) - np.float32(key_cr)
    diff = cv2.magnitude(du, dv)
    diff = cv2.blur(diff, (3, 3), borderType=cv2.BORDER_REPLICATE)  # ffmpeg's 3x3 mean
    diff *= np.float32(_K * _DIFF_SCALE)
    if blend > 0.0001:
        diff -= np.float32(similarity)
        diff *= np.float32(1.0 / blend)
        return np.clip(diff, 0.0, 1.0, out=diff)
    return (diff > similarity).astype(np.float32)


def edge_band(alpha: np.ndarray) -> np.ndarray:
    """Edge pixels: partly keyed, or within DESPILL_BAND_PX of a keyed pixel, and still visible."""
    partial = (alpha < 0.999).astype(np.uint8)
    k = 2 * DESPILL_BAND_PX + 1
    near = cv2.dilate(partial, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return (near > 0) & (alpha > 0.0)


def despill(frame: np.ndarray, band: np.ndarray, key_bgr: tuple[int, int, int]) -> np.ndarray:
    """Remove the key colour's chroma from ``band`` pixels (a copy; other pixels untouched).

    Each pixel's chroma (Cb, Cr) loses its component along the key's chroma
    direction when it points towards the key; luma is kept, so green spill on
    hair turns neutral instead of green.
    """
    out = frame.copy()
    ys, xs = np.nonzero(band)
    if ys.size == 0:
        return out
    px = frame[ys, xs].astype(np.float32)
    b, g, r = px[:, 0], px[:, 1], px[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb, cr = (b - y) * 0.564, (r - y) * 0.713
    kb, kg, kr = (float(c) for c in key_bgr)
    ky = 0.299 * kr + 0.587 * kg + 0.114 * kb
    kcb, kcr = (kb - ky) * 0.564, (kr - ky) * 0.713
    norm = float(np.hypot(kcb, kcr))
    if norm < 1e-3:  # a grey key has no chroma direction to remove
        return out
    kcb, kcr = kcb / norm, kcr / norm
    proj = np.maximum(cb * kcb + cr * kcr, 0.0)
    cb, cr = cb - proj * kcb, cr - proj * kcr
    rgb = np.stack([y + 1.773 * cb, y - 0.344 * cb - 0.714 * cr, y + 1.403 * cr], axis=-1)
    out[ys, xs] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out
