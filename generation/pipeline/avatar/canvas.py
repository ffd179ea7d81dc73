"""Painting primitives and lighting for the default avatar, and its layout in
fractions of the image side."""

from __future__ import annotations

import cv2
import numpy as np

SS = 2  # supersampling factor

# Layout in fractions of the image side (x right, y down). "Right" is the
# subject's right, i.e. image left, as in MediaPipe's naming.
_CX = 0.5
_EYE_Y = 0.415
_EYE_DX = 0.072  # eye centre offset from the midline
_EYE_HW = 0.036  # eye half-width (corner to corner / 2)
_EYE_UP, _EYE_LO = 0.0155, 0.0115  # lid curve heights above/below the eye line
_IRIS_R = 0.0158
_IRIS_DY = -0.0008
_HEAD_CY, _HEAD_A, _HEAD_BT, _HEAD_BB = 0.415, 0.172, 0.24, 0.235
_NOSE_Y = 0.505  # bottom of the nose
_MOUTH_Y = 0.562  # lip line (stomion)
_MOUTH_HW = 0.054
_LIP_UP, _LIP_LO = 0.0135, 0.0175
_CHIN_Y = _HEAD_CY + _HEAD_BB


# ---------------------------------------------------------------- primitives


def _rgb(r: int, g: int, b: int) -> np.ndarray:
    """A colour given as RGB, stored BGR in 0..1."""
    return np.array([b, g, r], np.float32) / 255.0


def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(
    x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float
) -> np.ndarray:
    return np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) * 0.5)


class _Canvas:
    """A float BGR image of side n with normalised coordinates."""

    def __init__(self, n: int):
        self.n = n
        self.img = np.zeros((n, n, 3), np.float32)

    def grid(self, x0: float, y0: float, x1: float, y1: float):
        """Slices of a region and its normalised pixel-centre coordinates."""
        n = self.n
        sl = (
            slice(max(0, int(y0 * n)), min(n, int(np.ceil(y1 * n)))),
            slice(max(0, int(x0 * n)), min(n, int(np.ceil(x1 * n)))),
        )
        return (sl, *self.coords(sl))

    def coords(self, sl):
        """Normalised pixel-centre coordinates (x, y) of a region."""
        ys = (np.arange(sl[0].start, sl[0].stop, dtype=np.float32) + 0.5) / self.n
        xs = (np.arange(sl[1].start, sl[1].stop, dtype=np.float32) + 0.5) / self.n
        return np.meshgrid(xs, ys)

    def poly(self, pts: np.ndarray, blur: float = 0.0):
        """Anti-aliased fill of a polygon (normalised points): mask and slices."""
        n = self.n
        p = np.asarray(pts, np.float64) * n
        pad = 3.0 * blur * n + 2
        x0, y0 = np.floor(p.min(axis=0) - pad).astype(int)
        x1, y1 = np.ceil(p.max(axis=0) + pad).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(n, x1), min(n, y1)
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        q = np.round((p - [x0, y0] - 0.5) * 16).astype(np.int32)
        cv2.fillPoly(m, [q], 255, cv2.LINE_AA, shift=4)
        mask = m.astype(np.float32) / 255.0
        if blur > 0:
            mask = cv2.GaussianBlur(mask, (0, 0), blur * n)
        return mask, (slice(y0, y1), slice(x0, x1))

    def blend(self, sl, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
        a = (mask * alpha)[..., None]
        region = self.img[sl]
        region *= 1.0 - a
        region += a * colour

    def multiply(self, sl, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
        a = (mask * alpha)[..., None]
        region = self.img[sl]
        region *= 1.0 - a + a * colour


def _curve(p0, p1, p2, k: int = 24) -> np.ndarray:
    """Points of a quadratic Bezier."""
    t = np.linspace(0.0, 1.0, k)[:, None]
    p0, p1, p2 = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _stroke(a: np.ndarray, w0: float, w1: float, taper: float = 0.0) -> np.ndarray:
    """A band polygon along a polyline, width w0 -> w1, the last ``taper`` share narrowing to a point."""
    d = np.gradient(a, axis=0)
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12
    t = np.linspace(0.0, 1.0, len(a))
    w = (w0 + (w1 - w0) * t)[:, None] / 2.0
    if taper > 0:
        w *= np.clip((1.0 - t) / taper, 0.15, 1.0)[:, None]
    return np.concatenate([a + nrm * w, (a - nrm * w)[::-1]])


# ---------------------------------------------------------------- painting

_LIGHT = np.array([-0.38, -0.52, 0.76], np.float32)
_LIGHT /= np.linalg.norm(_LIGHT)
_HALF = _LIGHT + np.array([0, 0, 1], np.float32)
_HALF /= np.linalg.norm(_HALF)

_SKIN = _rgb(228, 180, 150)
_SKIN_SHADOW = _rgb(200, 120, 110) / _rgb(228, 180, 150).clip(
    1e-3
)  # warm tint in shade
_HAIR = _rgb(58, 40, 30)
_LIP_UPPER = _rgb(178, 86, 90)
_LIP_LOWER = _rgb(200, 104, 106)
_JACKET = _rgb(46, 60, 94)
_SHIRT = _rgb(236, 240, 246)


def _unit(*comps: np.ndarray) -> np.ndarray:
    v = np.stack(np.broadcast_arrays(*comps), axis=-1)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _normals(height: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(height)
    return _unit(-gx, -gy, np.ones_like(gx))


def _lit(
    albedo: np.ndarray,
    nrm: np.ndarray,
    ambient: float,
    gloss: float,
    shininess: float,
    shadow_tint: np.ndarray | None = None,
) -> np.ndarray:
    """Wrapped Lambert plus a Blinn highlight."""
    ndl = nrm @ _LIGHT
    diff = np.clip((ndl + 0.3) / 1.3, 0.0, 1.0)[..., None]
    shade = ambient + (1.0 - ambient) * 1.08 * diff
    if shadow_tint is not None:
        shade = shade * (shadow_tint + (1.0 - shadow_tint) * diff)
    spec = np.clip(nrm @ _HALF, 0.0, 1.0)[..., None] ** shininess * gloss
    return albedo * shade + spec
