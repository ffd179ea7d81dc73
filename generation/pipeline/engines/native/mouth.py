"""Mouth interior synthesis: cavity, tongue and teeth inside the warped inner lips.

Colours come from the face itself (lip and skin statistics, and the photo's own
teeth when it shows them), so the interior is lit like the photo. Everything is
drawn in a small box around the mouth and clipped to the inner-lip polygon with
an anti-aliased mask; ``shade`` computes the pixels.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline.engines.native import shade as mouth_shade
from generation.pipeline.engines.native import teeth as teeth_model
from generation.pipeline.types import MouthParams

logger = logging.getLogger(__name__)

TEETH_COVER = 0.035  # inter-ocular units of upper teeth hidden when a phone shows none


@dataclass(frozen=True)
class MouthPalette:
    """BGR float colours of one face."""

    lip: np.ndarray
    skin: np.ndarray
    cavity: np.ndarray  # near the lips
    cavity_deep: np.ndarray  # back of the mouth
    teeth: np.ndarray
    tongue: np.ndarray
    gum: np.ndarray


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


def _photo_teeth(image: np.ndarray, inner_lip: np.ndarray) -> np.ndarray | None:
    """The colour of the teeth the photo shows between its lips (bright, unsaturated pixels), if it shows any."""
    import cv2

    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner_lip).astype(np.int32)], 255)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    pixels = image[mask > 0].astype(np.float64)
    if len(pixels) < 12:
        return None
    lum = pixels.mean(axis=1)
    sat = pixels.max(axis=1) - pixels.min(axis=1)
    teeth = pixels[(lum > np.percentile(lum, 60)) & (sat < 0.35 * np.maximum(lum, 1.0))]
    if len(teeth) < 8 or teeth.mean() < 110:
        return None
    # The brightest teeth pixels carry the light; the mean of the bright half is their lit colour.
    bright = teeth[teeth.mean(axis=1) >= np.median(teeth.mean(axis=1))]
    return bright.mean(axis=0)


def sample_palette(image: np.ndarray, outer_lip: np.ndarray, inner_lip: np.ndarray, cheeks: list[np.ndarray], radius: float) -> MouthPalette:
    """Lip colour from the lip ring, skin from cheek discs, teeth from the photo's own when visible; derived interior colours."""
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
    cavity = lip * np.array([0.38, 0.32, 0.5])
    cavity_deep = lip * np.array([0.2, 0.16, 0.27])
    seen = _photo_teeth(image, inner_lip)
    # Without the photo's own teeth: an off-white carrying the skin's light and colour cast.
    derived = np.array([196.0, 214.0, 228.0]) * bright * 0.92 + 0.08 * skin
    teeth = np.clip(0.75 * seen + 0.25 * derived if seen is not None else derived, 0, 240)
    tongue = np.clip(0.55 * lip * np.array([0.85, 0.8, 1.0]) + 0.45 * np.array([95.0, 95.0, 175.0]) * bright, 0, 255)
    gum = np.clip(lip * np.array([0.95, 0.9, 1.05]) + 12.0, 0, 255)
    return MouthPalette(lip=lip, skin=skin, cavity=cavity, cavity_deep=cavity_deep, teeth=teeth, tongue=tongue, gum=gum)


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


def _along(points: np.ndarray, centre: np.ndarray, u: np.ndarray, v: np.ndarray, half_w: float) -> tuple[np.ndarray, np.ndarray]:
    """(s, t) of frame points in mouth coordinates, sorted by s (contiguous, for the shader's interpolation)."""
    s = ((points - centre) @ u) / half_w
    t = (points - centre) @ v
    order = np.argsort(s, kind="stable")
    return np.ascontiguousarray(s[order]), np.ascontiguousarray(t[order])


def draw_interior(roi: np.ndarray, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray, params: MouthParams,
                  palette: MouthPalette, iod: float, axis_u: np.ndarray, teeth: teeth_model.TeethFrame | None = None, *,
                  compiled: bool = True) -> None:
    """Paint the mouth interior into ``roi`` (in place).

    ``upper``/``lower`` are the inner-lip contours from corner to corner in frame
    pixels (same endpoints); ``origin`` is the roi's top-left in the frame;
    ``axis_u`` is the face's unit left-to-right axis (roll); ``teeth`` places the
    teeth (default: hung from the lips themselves); ``compiled=False`` forces
    the numpy shader (the reference).
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
    c0 = np.array([ox + x0, oy + y0], dtype=np.float64)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - c0) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
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
    if teeth is None:
        teeth = teeth_model.from_lips(upper.astype(np.float64), lower.astype(np.float64), iod, u)
    up_s, up_t = _along(up, centre, u, v, half_w)
    lo_s, lo_t = _along(lo, centre, u, v, half_w)
    # How much of the upper teeth a phone shows (its ``teeth`` target): the lip hangs lower over them for AA or OW than for S or EE.
    cover = (1.0 - min(max(float(params.teeth) + 0.3 * float(params.upper_lip_raise), 0.0), 1.0)) * TEETH_COVER * iod
    ue_s, ue_t = _along(teeth.upper_edge - cover * v, centre, u, v, half_w)
    le_s, le_t = _along(teeth.lower_edge, centre, u, v, half_w)
    qu_s = ((teeth.upper_bounds - centre) @ u) / half_w
    ql_s = ((teeth.lower_bounds - centre) @ u) / half_w
    box = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64) + (ox, oy) - centre
    s_box = (box @ u) / half_w
    s0, ds, table = mouth_shade.column_table(float(s_box.min()), float(s_box.max()), [
        (up_s, up_t), (lo_s, lo_t), (ue_s, ue_t), (le_s, le_t), (qu_s, np.asarray(teeth.upper_q, np.float64)),
        (ql_s, np.asarray(teeth.lower_q, np.float64))])
    k = np.zeros(6)
    k[mouth_shade.K_IOD] = iod
    k[mouth_shade.K_TONGUE_RAISE] = min(max(float(params.tongue), 0.0), 1.0)
    k[mouth_shade.K_UPPER_LEN] = max(1.0, teeth.upper_len)
    k[mouth_shade.K_LOWER_LEN] = max(1.0, teeth.lower_len)
    # A sliver of an opening is a lip seam, not a row of teeth.
    opening = float(np.max((lo - up) @ v, initial=0.0))
    k[mouth_shade.K_TONGUE_AMT] = k[mouth_shade.K_TEETH_AMT] = min(1.0, max(0.0, opening / (0.05 * iod))) * (1.0 - min(max(float(params.lip_press), 0.0), 1.0))
    sh = mouth_shade.Shade(
        offset=(float(x0 + ox - centre[0]), float(y0 + oy - centre[1])), u=(float(u[0]), float(u[1])), v=(float(v[0]), float(v[1])),
        half_w=half_w, s0=s0, ds=ds, table=table,
        colours=np.array([palette.cavity, palette.cavity_deep, palette.tongue, palette.teeth, palette.gum], dtype=np.float64), k=k)
    # Only pixels the interior covers are shaded (a nearly closed mouth is a thin sliver,
    # and fades into the seam drawn under it).
    alpha *= min(1.0, opening / (0.025 * iod))
    mouth_shade.shade(roi[y0:y1, x0:x1], alpha, sh, compiled=compiled)
