"""Mouth interior synthesis: cavity, upper teeth and tongue inside the warped inner lips.

Colours come from the face itself (lip and skin statistics sampled once), so
the interior is lit like the photo. Everything is drawn in a small box around
the mouth and clipped to the inner-lip polygon with an anti-aliased mask.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline.engines.native import shade as mouth_shade
from generation.pipeline.types import MouthParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MouthPalette:
    """BGR float colours of one face."""

    lip: np.ndarray
    skin: np.ndarray
    cavity: np.ndarray  # near the lips
    cavity_deep: np.ndarray  # back of the mouth
    teeth: np.ndarray
    tongue: np.ndarray


def _polygon_mean(image: np.ndarray, include: list[np.ndarray], exclude: list[np.ndarray]) -> np.ndarray | None:
    import cv2

    mask = np.zeros(image.shape[:2], np.uint8)
    for poly in include:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    for poly in exclude:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 0)
    if mask.sum() < 255 * 4:
        return None
    return np.array(cv2.mean(image, mask=mask)[:3], dtype=np.float64)


def sample_palette(image: np.ndarray, outer_lip: np.ndarray, inner_lip: np.ndarray, cheeks: list[np.ndarray], radius: float) -> MouthPalette:
    """Lip colour from the lip ring, skin from cheek discs; derived interior colours."""
    import cv2

    lip = _polygon_mean(image, [outer_lip], [inner_lip])
    skin_vals = []
    for c in cheeks:
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.circle(mask, (int(round(c[0])), int(round(c[1]))), max(2, int(radius)), 255, -1)
        if mask.any():
            skin_vals.append(np.array(cv2.mean(image, mask=mask)[:3]))
    skin = np.mean(skin_vals, axis=0) if skin_vals else np.array([120.0, 140.0, 190.0])
    if lip is None:
        lip = skin * np.array([0.8, 0.75, 1.0])
    bright = float(np.clip(skin.mean() / 150.0, 0.55, 1.15))
    cavity = lip * np.array([0.30, 0.28, 0.36])
    cavity_deep = lip * np.array([0.10, 0.09, 0.13])
    teeth = np.clip(np.array([205.0, 220.0, 232.0]) * bright * 0.9 + 0.1 * skin, 0, 245)
    tongue = np.clip(0.55 * lip * np.array([0.85, 0.8, 1.0]) + 0.45 * np.array([95.0, 95.0, 175.0]) * bright, 0, 255)
    return MouthPalette(lip=lip, skin=skin, cavity=cavity, cavity_deep=cavity_deep, teeth=teeth, tongue=tongue)


@functools.lru_cache(maxsize=16)
def _catmull_rom_matrix(n: int, per_segment: int) -> np.ndarray:
    """The (m, n) linear operator taking ``n`` control points to their smooth curve."""
    eye = np.eye(n)
    p = np.concatenate([eye[:1], eye, eye[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    rows = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        rows.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    rows.append(eye[-1:])
    return np.concatenate(rows)


def _catmull_rom(points: np.ndarray, per_segment: int) -> np.ndarray:
    """A smooth curve through ``points`` (open, endpoints kept)."""
    return _catmull_rom_matrix(len(points), per_segment) @ points


def _draw_seam(roi: np.ndarray, origin: tuple[int, int], midline: np.ndarray, palette: MouthPalette, iod: float) -> None:
    """A thin dark line where the lips meet: a closed mouth reads as closed, and
    whatever the photo showed between its lips (teeth) cannot peek through.
    An open mouth's interior is painted over it."""
    import cv2

    ox, oy = origin
    n = len(midline)
    line = midline[max(1, n // 12): n - max(1, n // 12)] - (ox, oy)  # fades before the corners
    colour = tuple(float(c) for c in 0.5 * palette.lip + 0.5 * palette.cavity)
    thick = max(1, int(round(0.012 * iod)))
    cv2.polylines(roi, [np.round(line * 16).astype(np.int32)], False, colour, thick, cv2.LINE_AA, 4)


def draw_interior(roi: np.ndarray, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray, params: MouthParams,
                  palette: MouthPalette, iod: float, axis_u: np.ndarray, *, compiled: bool = True) -> None:
    """Paint the mouth interior into ``roi`` (in place).

    ``upper``/``lower`` are the inner-lip contours from corner to corner in frame
    pixels (same endpoints); ``origin`` is the roi's top-left in the frame;
    ``axis_u`` is the face's unit left-to-right axis (roll); ``compiled=False``
    forces the numpy shader (the reference).
    """
    import cv2

    seg = max(2, int(iod / 12))
    up = _catmull_rom(upper.astype(np.float64), seg)
    lo = _catmull_rom(lower.astype(np.float64), seg)
    _draw_seam(roi, origin, 0.5 * (up + lo), palette, iod)
    poly = np.concatenate([up, lo[::-1]])
    ox, oy = origin
    pad = 3
    x0 = int(np.floor(poly[:, 0].min())) - pad - ox
    y0 = int(np.floor(poly[:, 1].min())) - pad - oy
    x1 = int(np.ceil(poly[:, 0].max())) + pad + 1 - ox
    y1 = int(np.ceil(poly[:, 1].max())) + pad + 1 - oy
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(roi.shape[1], x1), min(roi.shape[0], y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    # Mouth-aligned local coordinates: s along the lips, t across (down).
    c0 = np.array([ox + x0, oy + y0], dtype=np.float64)
    local_poly = poly - c0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(local_poly * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    if not mask.any():
        return
    # Pull the edge in by ~half a pixel so lip pixels are never half-covered.
    alpha = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32) / 255.0
    alpha = np.clip(alpha * 1.15 - 0.15, 0, 1)
    u = axis_u / (np.linalg.norm(axis_u) + 1e-9)
    v = np.array([-u[1], u[0]])
    left, right = upper[0].astype(np.float64), upper[-1].astype(np.float64)
    centre = 0.5 * (left + right)
    half_w = max(1.0, 0.5 * float(np.dot(right - left, u)))
    # Upper/lower inner-lip heights per column (in t), from the smooth contours.
    up_s = ((up - centre) @ u) / half_w
    up_t = (up - centre) @ v
    lo_s = ((lo - centre) @ u) / half_w
    lo_t = (lo - centre) @ v
    order_u, order_l = np.argsort(up_s), np.argsort(lo_s)
    jaw = min(max(float(params.jaw_open), 0.0), 1.0)
    sh = mouth_shade.Shade(
        offset=(float(x0 + ox - centre[0]), float(y0 + oy - centre[1])), u=(float(u[0]), float(u[1])), v=(float(v[0]), float(v[1])),
        half_w=half_w, up_s=np.ascontiguousarray(up_s[order_u]), up_t=np.ascontiguousarray(up_t[order_u]),
        lo_s=np.ascontiguousarray(lo_s[order_l]), lo_t=np.ascontiguousarray(lo_t[order_l]),
        colours=np.array([palette.cavity, palette.cavity_deep, palette.tongue, palette.teeth], dtype=np.float64),
        tongue=float(params.tongue), tongue_amt=min(max(0.35 + 0.9 * float(params.tongue), 0.0), 1.0),
        low_vis=min(max((jaw - 0.45) * 1.2, 0.0), 0.35),  # lower teeth show when the jaw is wide open
        vis=min(max(float(max(params.teeth, min(1.0, jaw * 2.5) * 0.75, params.lower_lip_tuck)), 0.0), 1.0),
        iod=float(iod))
    # Only pixels the interior covers are shaded (a nearly closed mouth is a thin sliver).
    mouth_shade.shade(roi[y0:y1, x0:x1], alpha, sh, compiled=compiled)
