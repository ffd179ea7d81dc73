"""Per-pixel shading of the mouth interior: cavity, tongue, lower and upper teeth.

The colour of one pixel is ``_colour``, written once with operations that work
both on numpy arrays (the reference, and the fallback) and on scalars inside
the compiled kernel (numba, one pass over the mouth box). ``Shade`` carries
what is fixed for one frame's mouth, in mouth-aligned coordinates: ``s`` along
the lips (-1 at one inner corner, +1 at the other) and ``t`` across them
(pixels, down). Back to front: the dark cavity, the tongue resting on the lower
teeth (its tip rises for L/TH/D), the lower teeth (carried by the jaw), the
upper teeth (fixed to the head) and the gum above them; then the upper lip's
shadow and the buccal corridors' darkening toward the corners.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from generation.pipeline.engines.native import raster

try:  # jitable helpers stay plain Python functions outside compiled code
    from numba.extending import register_jitable as _jitable
except Exception:  # numba missing or broken: the numpy path needs nothing from it  # noqa: BLE001

    def _jitable(fn):
        return fn


# Rows of ``Shade.colours`` (BGR floats).
CAVITY, CAVITY_DEEP, TONGUE, TEETH, GUM = range(5)
# Slots of ``Shade.k``.
K_IOD, K_TONGUE_RAISE, K_TONGUE_AMT, K_UPPER_LEN, K_LOWER_LEN, K_TEETH_AMT = range(6)


# Rows of ``Shade.table``: per-column values sampled along s.
T_TOP, T_BOT, T_UPPER_EDGE, T_LOWER_EDGE, Q_UPPER, Q_LOWER = range(6)
TABLE_SAMPLES = 96
TONGUE_SHOW = 0.3  # share of the opening, at its middle, that the resting tongue's back fills


@dataclass(frozen=True)
class Shade:
    """One frame's mouth, in mouth-aligned coordinates (s along the lips, t across, down)."""

    offset: tuple[float, float]  # add to (x, y) in the box to get pixels from the mouth centre
    u: tuple[float, float]
    v: tuple[float, float]
    half_w: float
    s0: float  # the table's first sample
    ds: float  # ... and its spacing in s
    # (6, TABLE_SAMPLES) float64, per column s: upper and lower inner lip (t), upper incisal edge
    # (head-fixed), lower incisal edge (jaw), tooth coordinate of the upper and lower teeth
    # (q: 0 at the midline, +-1 at the next gap, ...). Sampled once: pixels only interpolate.
    table: np.ndarray
    colours: np.ndarray  # (5, 3) float64 BGR: cavity, deep cavity, tongue, teeth, gum
    k: np.ndarray  # (6,) float64: iod, tongue raise, tongue amount, upper/lower tooth length (px), teeth amount


def column_table(s_lo: float, s_hi: float, curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, np.ndarray]:
    """(s0, ds, table): each (xs, ys) curve (xs ascending) sampled on TABLE_SAMPLES columns over [s_lo, s_hi]."""
    grid = np.linspace(s_lo, s_hi, TABLE_SAMPLES)
    table = np.ascontiguousarray(np.stack([np.interp(grid, xs, ys) for xs, ys in curves]))
    return float(s_lo), float(grid[1] - grid[0]), table


@_jitable
def _sat(x):
    return np.minimum(np.maximum(x, 0.0), 1.0)


@_jitable
def _smoothstep(e0, e1, x):
    y = _sat((x - e0) / (e1 - e0))
    return y * y * (3.0 - 2.0 * y)


@_jitable
def _bell(x):
    """A smooth bump, 1 at 0 and 0 from |x| = 1 on (a cheap stand-in for a Gaussian)."""
    y = _sat(1.0 - x * x)
    return y * y


@_jitable
def _tooth(q, h):
    """(shade factor, highlight) of a tooth surface at tooth coordinate ``q`` and height ``h`` (0 edge .. 1 gum)."""
    w = q - np.floor(q)
    n = np.abs(np.floor(q) + 0.5) - 0.5  # 0 central incisor, 1 lateral, 2 canine, ...
    convex = 0.7 + 0.3 * np.sqrt(4.0 * w * (1.0 - w))  # rounded labial surface, darker at the sides
    seam = _bell(np.minimum(w, 1.0 - w) / 0.1)  # the dark line between two teeth
    notch = seam * _sat(1.0 - h / 0.18)  # incisal embrasures: the V between edges
    edge = 1.0 - 0.14 * _sat(1.0 - h / 0.1)  # translucent incisal edge
    factor = convex * (1.0 - 0.45 * seam - 0.35 * notch) * edge * (1.0 - 0.1 * n)
    highlight = 0.16 * _sat(1.5 - n) * _bell((w - 0.38) / 0.22) * _bell((h - 0.5) / 0.42)
    return factor, highlight


@_jitable
def _colour(s, t, t_top, t_bot, t_ue, t_le, q_u, q_l, k, cols):
    """BGR of the interior at (s, t); scalars or same-shape arrays. Returns (b, g, r, darkness-free alpha)."""
    iod = k[0]
    a_s = np.abs(s)
    gap = np.maximum(t_bot - t_top, 1e-3)
    depth = _sat((t - t_top) / gap)
    back = _sat(1.0 - a_s * a_s - 2.0 * (depth - 0.6) ** 2)
    # Tongue: rests behind the lower teeth, its back arching up into the lower part of a wide
    # opening (seen from the front it fills the bottom of an open vowel); its tip rises toward
    # the upper teeth (L, TH, D).
    bump = _bell(s / 0.95)
    rest_top = np.minimum(t_le + 0.01 * iod - 0.05 * iod * bump, t_bot - TONGUE_SHOW * gap * bump)
    tip_top = np.minimum(t_ue - 0.01 * iod, rest_top)  # up against the back of the upper teeth
    t_tg = rest_top + (tip_top - rest_top) * k[1] * _bell(s / 0.7)
    tongue_a = _sat((t - t_tg) / np.maximum(1.0, 0.015 * iod)) * _sat((0.97 - a_s) * 5.0) * k[2]
    tshade = 0.72 + 0.28 * _sat(1.0 - (t - t_tg) / (0.07 * iod)) * bump
    # Lower teeth: from the jaw's incisal edge down, partly behind the lower lip.
    # A sliver of them (a pixel or two above the lip) would read as specks: they fade in over 1-3 px.
    lower_a = _sat(t - t_le + 0.5) * _sat(t_le + k[4] - t + 0.5) * _sat((0.95 - a_s) * 6.0) * k[5] * _sat((t_bot - t_le - 1.0) * 0.5)
    lf, lh = _tooth(q_l, (t - t_le) / k[4])
    # Upper teeth: fixed to the head, from the gum line down to their edge.
    upper_a = _sat(t_ue - t + 0.5) * _sat(t - (t_ue - k[3]) + 0.5) * _sat((0.97 - a_s) * 6.0) * k[5]
    gum_a = _sat(t_ue - k[3] - t + 0.5) * _sat((0.97 - a_s) * 6.0) * k[5]
    uf, uh = _tooth(q_u, (t_ue - t) / k[3])
    # The upper lip shades what is just under it; the corridors darken to the corners.
    shadow = (0.72 + 0.28 * _sat((t - t_top) / (0.03 * iod))) * (1.0 - 0.8 * _smoothstep(0.3, 1.0, a_s))
    out0 = cols[0, 0] * (1.0 - back) + cols[1, 0] * back
    out1 = cols[0, 1] * (1.0 - back) + cols[1, 1] * back
    out2 = cols[0, 2] * (1.0 - back) + cols[1, 2] * back
    out0 = out0 + (cols[2, 0] * tshade - out0) * tongue_a
    out1 = out1 + (cols[2, 1] * tshade - out1) * tongue_a
    out2 = out2 + (cols[2, 2] * tshade - out2) * tongue_a
    out0 = out0 + (cols[3, 0] * lf * 0.85 + 255.0 * lh - out0) * lower_a
    out1 = out1 + (cols[3, 1] * lf * 0.85 + 255.0 * lh - out1) * lower_a
    out2 = out2 + (cols[3, 2] * lf * 0.85 + 255.0 * lh - out2) * lower_a
    out0 = out0 + (cols[4, 0] - out0) * gum_a
    out1 = out1 + (cols[4, 1] - out1) * gum_a
    out2 = out2 + (cols[4, 2] - out2) * gum_a
    out0 = out0 + (cols[3, 0] * uf + 255.0 * uh - out0) * upper_a
    out1 = out1 + (cols[3, 1] * uf + 255.0 * uh - out1) * upper_a
    out2 = out2 + (cols[3, 2] * uf + 255.0 * uh - out2) * upper_a
    return out0 * shadow, out1 * shadow, out2 * shadow


def shade_numpy(sub: np.ndarray, alpha: np.ndarray, sh: Shade) -> None:
    """Blend the interior into ``sub`` (in place) where ``alpha`` > 0."""
    ys, xs = np.nonzero(alpha > 0)
    if len(ys) == 0:
        return
    a = alpha[ys, xs].astype(np.float64)
    px = xs + sh.offset[0]
    py = ys + sh.offset[1]
    s = (px * sh.u[0] + py * sh.u[1]) / sh.half_w
    t = px * sh.v[0] + py * sh.v[1]
    grid = sh.s0 + sh.ds * np.arange(sh.table.shape[1])
    rows = [np.interp(s, grid, sh.table[r]) for r in range(6)]
    b, g, r = _colour(s, t, *rows, sh.k, sh.colours)
    region = sub[ys, xs].astype(np.float64)
    for c, col in enumerate((b, g, r)):
        region[:, c] = region[:, c] * (1 - a) + col * a
    sub[ys, xs] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _shade_py(sub, alpha, ox, oy, u0, u1, v0, v1, half_w, s0, ds, table, k, cols):  # pragma: no cover - compiled
    """The same shading as ``shade_numpy``, one pixel at a time."""
    h, w = alpha.shape
    last = table.shape[1] - 1
    for y in range(h):
        for x in range(w):
            a = alpha[y, x]
            if a <= 0:
                continue
            px = x + ox
            py = y + oy
            s = (px * u0 + py * u1) / half_w
            t = px * v0 + py * v1
            f = min(max((s - s0) / ds, 0.0), float(last))
            i = min(int(f), last - 1)
            f -= i
            b, g, r = _colour(s, t, table[0, i] + (table[0, i + 1] - table[0, i]) * f, table[1, i] + (table[1, i + 1] - table[1, i]) * f,
                              table[2, i] + (table[2, i + 1] - table[2, i]) * f, table[3, i] + (table[3, i + 1] - table[3, i]) * f,
                              table[4, i] + (table[4, i + 1] - table[4, i]) * f, table[5, i] + (table[5, i + 1] - table[5, i]) * f, k, cols)
            sub[y, x, 0] = np.uint8(int(min(max(sub[y, x, 0] * (1 - a) + b * a + 0.5, 0.0), 255.0)))
            sub[y, x, 1] = np.uint8(int(min(max(sub[y, x, 1] * (1 - a) + g * a + 0.5, 0.0), 255.0)))
            sub[y, x, 2] = np.uint8(int(min(max(sub[y, x, 2] * (1 - a) + r * a + 0.5, 0.0), 255.0)))


def _args(sh: Shade) -> tuple:
    return (float(sh.offset[0]), float(sh.offset[1]), float(sh.u[0]), float(sh.u[1]), float(sh.v[0]), float(sh.v[1]), float(sh.half_w),
            float(sh.s0), float(sh.ds), sh.table, sh.k, sh.colours)


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled shader, or None where numba cannot provide it."""
    table = np.zeros((6, TABLE_SAMPLES))
    table[1] = 1.0
    warm = Shade(offset=(0.0, 0.0), u=(1.0, 0.0), v=(0.0, 1.0), half_w=1.0, s0=-1.0, ds=2.0 / (TABLE_SAMPLES - 1), table=table,
                 colours=np.zeros((5, 3)), k=np.ones(6) * 4.0)
    # A strided view, like the real calls (a box inside the frame): each layout compiles separately.
    return raster.compile_kernel(_shade_py, (np.zeros((2, 4, 3), np.uint8)[:, :2], np.ones((2, 2), np.float32), *_args(warm)), "mouth shader")


def shade(sub: np.ndarray, alpha: np.ndarray, sh: Shade, compiled: bool = True) -> None:
    """Blend the interior into ``sub`` (in place), compiled when possible."""
    fn = _kernel() if compiled else None
    if fn is None:
        shade_numpy(sub, alpha, sh)
        return
    fn(sub, alpha, *_args(sh))


def available() -> bool:
    """True when the compiled shader can run (compiles or loads it on first call)."""
    return _kernel() is not None
