"""Compiled per-frame rasteriser of the piecewise-affine warp (numba), with a numpy fallback.

``sample_grid`` computes what ``warp.GridMapper``'s numpy path computes (the
same float64 formulas in the same order, later triangles winning), up to the
host CPU's floating point: numba may fuse multiply-adds, so displacements agree
to about 1e-6 px and a sample exactly on an edge may land either side. It works in one
pass over each active triangle's bounding box instead of building arrays of
candidate (triangle, sample) pairs. Compilation is cached on disk, so it
happens once per machine; if numba is missing or fails, ``available()`` is
False and callers keep the numpy path.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

logger = logging.getLogger(__name__)


def _sample_grid_py(dst, tris, src_t, src_areas, active, min_area, ex0, ey0, s, gx, gy, disp, covered):  # pragma: no cover - compiled
    """Fill ``disp`` (ch, cw, 2) float32 and ``covered`` (ch, cw) bool in place; returns samples written."""
    ch, cw = covered.shape
    written = 0
    for t in range(tris.shape[0]):
        if not active[t]:
            continue
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        ax, ay = dst[i0, 0], dst[i0, 1]
        bx, by = dst[i1, 0], dst[i1, 1]
        cx, cy = dst[i2, 0], dst[i2, 1]
        area = ((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) * 0.5
        sa = src_areas[t]
        # Collapsed or folded triangles cover no real area (same rule as the numpy path).
        if not abs(area) > min_area:
            continue
        if (area > 0) != (sa > 0) or (area < 0) != (sa < 0):
            continue
        ex1, ey1 = bx - ax, by - ay
        ex2, ey2 = cx - ax, cy - ay
        den = 2.0 * area
        al_b, be_b = ey2 / den, -ex2 / den
        al_c, be_c = -ey1 / den, ex1 / den
        ga_b = -(al_b * ax + be_b * ay)
        ga_c = -(al_c * ax + be_c * ay)
        m00, m01, m02 = -al_b - al_c, al_b, al_c
        m10, m11, m12 = -be_b - be_c, be_b, be_c
        m20, m21, m22 = 1.0 - ga_b - ga_c, ga_b, ga_c
        s0x, s0y = src_t[t, 0, 0], src_t[t, 0, 1]
        s1x, s1y = src_t[t, 1, 0], src_t[t, 1, 1]
        s2x, s2y = src_t[t, 2, 0], src_t[t, 2, 1]
        a0 = m00 * s0x + m01 * s1x + m02 * s2x
        a1 = m10 * s0x + m11 * s1x + m12 * s2x
        a2 = m20 * s0x + m21 * s1x + m22 * s2x
        a3 = m00 * s0y + m01 * s1y + m02 * s2y
        a4 = m10 * s0y + m11 * s1y + m12 * s2y
        a5 = m20 * s0y + m21 * s1y + m22 * s2y
        jx0 = (ax - ex0 + 0.5) / s - 0.5
        jx1 = (bx - ex0 + 0.5) / s - 0.5
        jx2 = (cx - ex0 + 0.5) / s - 0.5
        jy0 = (ay - ey0 + 0.5) / s - 0.5
        jy1 = (by - ey0 + 0.5) / s - 0.5
        jy2 = (cy - ey0 + 0.5) / s - 0.5
        x_lo = int(min(max(np.ceil(min(jx0, jx1, jx2) - 1e-6), 0.0), float(cw)))
        x_hi = int(min(max(np.floor(max(jx0, jx1, jx2) + 1e-6) + 1, 0.0), float(cw)))
        y_lo = int(min(max(np.ceil(min(jy0, jy1, jy2) - 1e-6), 0.0), float(ch)))
        y_hi = int(min(max(np.floor(max(jy0, jy1, jy2) + 1e-6) + 1, 0.0), float(ch)))
        for yi in range(y_lo, y_hi):
            py = gy[yi]
            for xi in range(x_lo, x_hi):
                px = gx[xi]
                b1 = px * m01 + py * m11 + m21
                b2 = px * m02 + py * m12 + m22
                if b1 >= -1e-4 and b2 >= -1e-4 and b1 + b2 <= 1 + 1e-4:
                    disp[yi, xi, 0] = px * a0 + py * a1 + a2 - px
                    disp[yi, xi, 1] = px * a3 + py * a4 + a5 - py
                    covered[yi, xi] = True
                    written += 1
    return written


def compile_kernel(py_fn, warm_args: tuple, what: str):
    """``py_fn`` compiled by numba and run once on ``warm_args``, or None (with a warning) if that fails.

    ``cache=True`` keeps the machine code on disk, so later processes only load it.
    """
    try:
        from numba import njit

        fn = njit(cache=True, nogil=True, fastmath=False)(py_fn)
        fn(*warm_args)
        return fn
    except Exception as exc:  # numba missing, or LLVM failed on this machine: the numpy path still works
        logger.warning("compiled %s unavailable, using numpy (slower): %s", what, exc)
        return None


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled rasteriser, or None where numba cannot provide it."""
    warm = (np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]), np.array([[0, 1, 2]], np.int32), np.zeros((1, 3, 2)),
            np.ones(1), np.ones(1, np.bool_), 0.05, 0, 0, 1, np.arange(2.0), np.arange(2.0), np.zeros((2, 2, 2), np.float32),
            np.zeros((2, 2), np.bool_))
    return compile_kernel(_sample_grid_py, warm, "warp rasteriser")


def available() -> bool:
    """True when the compiled rasteriser can run (compiles or loads it on first call)."""
    return _kernel() is not None


def sample_grid(dst: np.ndarray, tris: np.ndarray, src_t: np.ndarray, src_areas: np.ndarray, active: np.ndarray, min_area: float,
                origin: tuple[int, int], step: int, gx: np.ndarray, gy: np.ndarray, disp: np.ndarray, covered: np.ndarray) -> int:
    """Rasterise ``active`` triangles of ``dst`` into ``disp``/``covered`` (zeroed by the caller); returns samples written."""
    fn = _kernel()
    if fn is None:
        raise RuntimeError("compiled rasteriser unavailable")
    return fn(dst, tris, src_t, src_areas, active, float(min_area), int(origin[0]), int(origin[1]), int(step), gx, gy, disp, covered)
