"""Per-pixel shading of the mouth interior (cavity, tongue, teeth): numpy reference and compiled kernel.

Both compute the same formulas; the compiled one (numba, one pass over the
mouth box) is used when it loads, the numpy one otherwise and as the reference
in tests. ``Shade`` carries everything that is fixed for one frame's mouth.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from generation.pipeline.engines.native import raster


@dataclass(frozen=True)
class Shade:
    """One frame's mouth, in mouth-aligned coordinates (s along the lips, t across, down)."""

    offset: tuple[float, float]  # add to (x, y) in the box to get pixels from the mouth centre
    u: tuple[float, float]
    v: tuple[float, float]
    half_w: float
    up_s: np.ndarray  # inner-lip contours, sorted by s
    up_t: np.ndarray
    lo_s: np.ndarray
    lo_t: np.ndarray
    colours: np.ndarray  # (4, 3) float64 BGR: cavity, cavity_deep, tongue, teeth
    tongue: float
    tongue_amt: float
    low_vis: float
    vis: float
    iod: float


def shade_numpy(sub: np.ndarray, alpha: np.ndarray, sh: Shade) -> None:
    """Blend the interior into ``sub`` (in place) where ``alpha`` > 0."""
    ys, xs = np.nonzero(alpha > 0)
    if len(ys) == 0:
        return
    a = alpha[ys, xs][:, None]
    iod, half_w = sh.iod, sh.half_w
    px = (xs + sh.offset[0]).astype(np.float32)
    py = (ys + sh.offset[1]).astype(np.float32)
    s = (px * sh.u[0] + py * sh.u[1]) / half_w  # -1..1 corner to corner
    t = px * sh.v[0] + py * sh.v[1]  # pixels below the corner line
    # float32 per pixel (np.interp returns float64): half the arithmetic, same colours.
    t_top = np.interp(s, sh.up_s, sh.up_t).astype(np.float32)
    t_bot = np.interp(s, sh.lo_s, sh.lo_t).astype(np.float32)
    gap = np.maximum(t_bot - t_top, 1e-3)
    depth = np.clip((t - t_top) / gap, 0, 1)  # 0 at upper lip, 1 at lower lip
    arch = np.sqrt(np.clip(1 - (s / 0.92) ** 2, 0, 1))  # teeth/tongue recede toward the corners
    cavity, cavity_deep, tongue_c, teeth_c = (c.astype(np.float32) for c in sh.colours)

    # Cavity: darkest at the back/centre, warmer near the lips.
    r = np.clip(np.abs(s) ** 2 + ((depth - 0.45) * 2) ** 2, 0, 1)
    back = (1 - r)[..., None]
    colour = cavity * (1 - back) + cavity_deep * back

    # Tongue: a rounded hump resting on the lower teeth; its tip rises for L/TH/D.
    tongue_top = t_bot - (0.07 + 0.12 * sh.tongue) * iod * arch
    tongue_a = np.clip((t - tongue_top) / max(1.0, 0.03 * iod), 0, 1) * np.clip(arch * 1.6, 0, 1) * sh.tongue_amt
    tshade = 0.7 + 0.3 * np.clip((t - tongue_top) / max(1.0, 0.08 * iod), 0, 1)
    colour = colour * (1 - tongue_a[..., None]) + tongue_c * tshade[..., None] * tongue_a[..., None]

    # Lower teeth: a faint band above the lower lip when the jaw is wide open.
    if sh.low_vis > 0:
        lt = np.clip((t - (t_bot - 0.035 * iod * arch)) / 1.0, 0, 1) * arch ** 2 * sh.low_vis
        colour = colour * (1 - lt[..., None]) + teeth_c * 0.78 * lt[..., None]

    # Upper teeth: an off-white band hanging from the upper lip, shaded and with gap hints.
    vis = sh.vis
    if vis > 0:
        # Partial visibility shows less of the teeth (lip covers them), not ghostly teeth.
        height = 0.12 * iod * (0.55 + 0.45 * arch) * (0.3 + 0.7 * vis)
        edge = np.clip((t_top + height - t) / 1.2, 0, 1)  # anti-aliased biting edge
        teeth_a = edge * np.clip(arch * 2.5, 0, 1) * min(1.0, vis * 3.0)
        # Faint gap hints at the midline and between the incisors, fading to the sides.
        tooth_w = 0.085 * iod / half_w  # incisor width in s units
        phase = s / tooth_w
        near = np.round(phase)
        line_w = max(0.5, 0.01 * iod) / half_w / tooth_w
        gaps = np.exp(-(((phase - near) / line_w) ** 2)) * (np.abs(near) <= 2) * (1 - 0.3 * np.abs(near))
        mid = np.exp(-((s * half_w / max(0.5, 0.01 * iod)) ** 2))
        gaps = np.maximum(gaps * 0.5, mid) * np.clip((t - t_top) / max(1.0, 0.03 * iod), 0.3, 1)
        shade = (0.8 + 0.2 * arch) * (1 - 0.14 * gaps)
        shade = shade * (0.82 + 0.18 * np.clip((t - t_top) / max(1.0, 0.035 * iod), 0, 1))  # upper-lip shadow
        colour = colour * (1 - teeth_a[..., None]) + teeth_c * shade[..., None] * teeth_a[..., None]

    region = sub[ys, xs].astype(np.float32)
    sub[ys, xs] = np.clip(region * (1 - a) + colour.astype(np.float32) * a, 0, 255).astype(np.uint8)


def _shade_py(sub, alpha, ox, oy, u0, u1, v0, v1, half_w, up_s, up_t, lo_s, lo_t, cols, tongue, tongue_amt, low_vis, vis, iod):  # pragma: no cover - compiled
    """The same shading as ``shade_numpy``, one pixel at a time."""
    h, w = alpha.shape
    k_tongue = max(1.0, 0.03 * iod)
    k_tshade = max(1.0, 0.08 * iod)
    tooth_w = 0.085 * iod / half_w
    line_w = max(0.5, 0.01 * iod) / half_w / tooth_w
    k_mid = max(0.5, 0.01 * iod)
    k_gap = max(1.0, 0.03 * iod)
    k_shadow = max(1.0, 0.035 * iod)
    for y in range(h):
        for x in range(w):
            a = alpha[y, x]
            if a <= 0:
                continue
            px = x + ox
            py = y + oy
            s = (px * u0 + py * u1) / half_w
            t = px * v0 + py * v1
            # np.interp by hand: numba's version allocates per scalar call.
            t_top = 0.0
            t_bot = 0.0
            for k in range(2):
                xp = up_s if k == 0 else lo_s
                fp = up_t if k == 0 else lo_t
                n = xp.shape[0]
                if s <= xp[0]:
                    val = fp[0]
                elif s >= xp[n - 1]:
                    val = fp[n - 1]
                else:
                    lo, hi = 0, n - 1  # xp[lo] <= s < xp[hi]
                    while hi - lo > 1:
                        m = (lo + hi) // 2
                        if xp[m] <= s:
                            lo = m
                        else:
                            hi = m
                    val = (fp[hi] - fp[lo]) / (xp[hi] - xp[lo]) * (s - xp[lo]) + fp[lo]
                if k == 0:
                    t_top = val
                else:
                    t_bot = val
            gap = max(t_bot - t_top, 1e-3)
            depth = min(max((t - t_top) / gap, 0.0), 1.0)
            arch = np.sqrt(min(max(1 - (s / 0.92) ** 2, 0.0), 1.0))
            r = min(max(abs(s) ** 2 + ((depth - 0.45) * 2) ** 2, 0.0), 1.0)
            back = 1 - r
            tongue_top = t_bot - (0.07 + 0.12 * tongue) * iod * arch
            tongue_a = min(max((t - tongue_top) / k_tongue, 0.0), 1.0) * min(max(arch * 1.6, 0.0), 1.0) * tongue_amt
            tshade = 0.7 + 0.3 * min(max((t - tongue_top) / k_tshade, 0.0), 1.0)
            lt = 0.0
            if low_vis > 0:
                lt = min(max(t - (t_bot - 0.035 * iod * arch), 0.0), 1.0) * arch ** 2 * low_vis
            teeth_a = 0.0
            shade = 0.0
            if vis > 0:
                height = 0.12 * iod * (0.55 + 0.45 * arch) * (0.3 + 0.7 * vis)
                edge = min(max((t_top + height - t) / 1.2, 0.0), 1.0)
                teeth_a = edge * min(max(arch * 2.5, 0.0), 1.0) * min(1.0, vis * 3.0)
                phase = s / tooth_w
                near = np.rint(phase)
                gaps = np.exp(-(((phase - near) / line_w) ** 2)) * (1.0 if abs(near) <= 2 else 0.0) * (1 - 0.3 * abs(near))
                mid = np.exp(-((s * half_w / k_mid) ** 2))
                gaps = max(gaps * 0.5, mid) * min(max((t - t_top) / k_gap, 0.3), 1.0)
                shade = (0.8 + 0.2 * arch) * (1 - 0.14 * gaps)
                shade = shade * (0.82 + 0.18 * min(max((t - t_top) / k_shadow, 0.0), 1.0))
            for c in range(3):
                col = cols[0, c] * (1 - back) + cols[1, c] * back
                col = col * (1 - tongue_a) + cols[2, c] * tshade * tongue_a
                col = col * (1 - lt) + cols[3, c] * 0.78 * lt
                col = col * (1 - teeth_a) + cols[3, c] * shade * teeth_a
                val = sub[y, x, c] * (1 - a) + col * a
                sub[y, x, c] = np.uint8(int(min(max(val, 0.0), 255.0)))


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled shader, or None where numba cannot provide it."""
    z = np.zeros(2)
    # A strided view, like the real calls (a box inside the frame): each layout compiles separately.
    warm = (np.zeros((2, 4, 3), np.uint8)[:, :2], np.ones((2, 2), np.float32), 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0,
            np.array([-1.0, 1.0]), z, np.array([-1.0, 1.0]), z + 1, np.zeros((4, 3)), 0.0, 0.5, 0.1, 0.5, 40.0)
    return raster.compile_kernel(_shade_py, warm, "mouth shader")


def shade(sub: np.ndarray, alpha: np.ndarray, sh: Shade, compiled: bool = True) -> None:
    """Blend the interior into ``sub`` (in place), compiled when possible."""
    fn = _kernel() if compiled else None
    if fn is None:
        shade_numpy(sub, alpha, sh)
        return
    fn(sub, alpha, float(sh.offset[0]), float(sh.offset[1]), float(sh.u[0]), float(sh.u[1]), float(sh.v[0]), float(sh.v[1]),
       float(sh.half_w), sh.up_s, sh.up_t, sh.lo_s, sh.lo_t, sh.colours, float(sh.tongue), float(sh.tongue_amt), float(sh.low_vis),
       float(sh.vis), float(sh.iod))


def available() -> bool:
    """True when the compiled shader can run (compiles or loads it on first call)."""
    return _kernel() is not None
