"""Piecewise-affine warp of the face region, fast enough for real-time CPU rendering.

The control mesh is the MediaPipe face tesselation (852 triangles over the first
468 landmarks) plus a Delaunay skirt from the face oval to a ring of fixed
anchors on the border of the animated region, so that region's border never
moves. Per frame only triangles that moved are rasterised (by the compiled
kernel in ``raster`` when numba loads, else vectorised numpy), on a coarse
grid; the lips get a fine grid; head motion is a similarity composed through a
feathered weight; one ``cv2.remap`` applies it all.
"""

from __future__ import annotations

import collections
import functools
import logging

import numpy as np

from generation.pipeline.engines.native import raster

logger = logging.getLogger(__name__)

MESH_POINTS = 468  # landmarks that take part in the warp (the 10 iris points do not)


@functools.lru_cache(maxsize=1)
def mesh_triangles() -> np.ndarray:
    """The (852, 3) faces of the canonical face mesh, rebuilt from its edge list.

    MediaPipe only publishes edges; faces are the 3-cliques, minus the two cliques
    that enclose a degree-3 vertex (every edge of those is shared by 3 cliques).
    """
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    adj: dict[int, set[int]] = collections.defaultdict(set)
    for a, b in FACEMESH_TESSELATION:
        adj[a].add(b)
        adj[b].add(a)
    cliques = set()
    for a, b in FACEMESH_TESSELATION:
        for c in adj[a] & adj[b]:
            cliques.add(tuple(sorted((a, b, c))))
    edge_count: collections.Counter = collections.Counter()
    for a, b, c in cliques:
        edge_count.update([(a, b), (b, c), (a, c)])
    faces = [t for t in sorted(cliques) if not all(edge_count[e] >= 3 for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))]
    return np.array(faces, dtype=np.int32)


def strip_triangles(upper: list[int], lower: list[int]) -> list[tuple[int, int, int]]:
    """Triangles filling the gap between two paired contours (same length, same direction)."""
    tris = []
    for i in range(len(upper) - 1):
        tris.append((upper[i], upper[i + 1], lower[i]))
        tris.append((upper[i + 1], lower[i + 1], lower[i]))
    return tris


def region_box(bbox: tuple[int, int, int, int], margin: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The face bbox grown by ``margin`` of its size, clipped to the frame."""
    x0, y0, x1, y1 = bbox
    side = max(x1 - x0, y1 - y0)
    m = max(4.0, margin * side)
    w, h = size
    return (max(0, int(x0 - m)), max(0, int(y0 - m)), min(w, int(np.ceil(x1 + m))), min(h, int(np.ceil(y1 + m))))


def anchor_ring(box: tuple[int, int, int, int], per_side: int = 8) -> np.ndarray:
    """Fixed points along the region border (corners included)."""
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1 - 1, per_side + 1)
    ys = np.linspace(y0, y1 - 1, per_side + 1)
    top = np.stack([xs, np.full_like(xs, y0)], 1)
    bottom = np.stack([xs, np.full_like(xs, y1 - 1)], 1)
    left = np.stack([np.full_like(ys[1:-1], x0), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], x1 - 1), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right]).astype(np.float32)


def skirt_triangles(points: np.ndarray, oval: list[int], extra_start: int) -> np.ndarray:
    """Delaunay triangles between the face oval and the extra (ring/anchor) points.

    ``points`` holds every control point; indices >= ``extra_start`` are outside the
    face. Triangles inside the oval polygon are dropped (the face mesh covers them).
    """
    # Qhull's Delaunay, as scipy.spatial's, through matplotlib: mediapipe has already
    # imported it, while scipy.spatial would cost ~0.15 s of start-up. (cv2.Subdiv2D
    # is no substitute: it drops thin triangles on the convex hull.)
    import cv2
    from matplotlib.tri import Triangulation

    idx = np.array(list(oval) + list(range(extra_start, len(points))), dtype=np.int32)
    pts = points[idx].astype(np.float64)
    simplices = idx[Triangulation(pts[:, 0], pts[:, 1]).triangles]
    poly = points[oval].astype(np.float32).reshape(-1, 1, 2)
    keep = []
    for t in simplices:
        if all(v < extra_start for v in t):
            centroid = points[t].mean(axis=0)
            if cv2.pointPolygonTest(poly, (float(centroid[0]), float(centroid[1])), False) >= 0:
                continue
        keep.append(t)
    return np.array(keep, dtype=np.int32)


def _signed_areas(p: np.ndarray) -> np.ndarray:
    return ((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 2, 0] - p[:, 0, 0]) * (p[:, 1, 1] - p[:, 0, 1])) * 0.5


def _barycentric_rows(d: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Per triangle, rows (x, y, 1) of the 3x3 matrix giving barycentric weights.

    Closed form: batched ``np.linalg.inv`` costs ~10 us per triangle.
    """
    ax, ay = d[:, 0, 0], d[:, 0, 1]
    ex1, ey1 = d[:, 1, 0] - ax, d[:, 1, 1] - ay
    ex2, ey2 = d[:, 2, 0] - ax, d[:, 2, 1] - ay
    den = 2.0 * areas
    al_b, be_b = ey2 / den, -ex2 / den
    al_c, be_c = -ey1 / den, ex1 / den
    ga_b = -(al_b * ax + be_b * ay)
    ga_c = -(al_c * ax + be_c * ay)
    m = np.empty((len(d), 3, 3))
    m[:, 0] = np.stack([-al_b - al_c, al_b, al_c], 1)
    m[:, 1] = np.stack([-be_b - be_c, be_b, be_c], 1)
    m[:, 2] = np.stack([1.0 - ga_b - ga_c, ga_b, ga_c], 1)
    return m


class GridMapper:
    """Exact backward piecewise-affine map, sampled on a regular grid over a box.

    Sample ``j`` sits at frame x = ``ex0 + (j + 0.5) * step - 0.5`` (where
    ``cv2.resize`` by the integer factor ``step`` expects it); ``pad`` extra
    samples each side let the upsampled map reach the box edges without clamping.
    Only ``active`` triangles are drawn: the rest map onto themselves, so their
    samples keep a zero displacement without any per-triangle work.
    """

    def __init__(self, src_points: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int, int], step: int, pad: int = 1):
        self.src = src_points.astype(np.float64)
        self.tris = np.ascontiguousarray(triangles, dtype=np.int32)
        self.box = box
        self.step = s = max(1, int(step))
        x0, y0, x1, y1 = box
        self.pad = pad
        self.cw = int(np.ceil((x1 - x0) / s)) + 2 * pad
        self.ch = int(np.ceil((y1 - y0) / s)) + 2 * pad
        self.ex0, self.ey0 = x0 - pad * s, y0 - pad * s
        self.gx = self.ex0 + (np.arange(self.cw) + 0.5) * s - 0.5
        self.gy = self.ey0 + (np.arange(self.ch) + 0.5) * s - 0.5
        gx, gy = np.meshgrid(self.gx.astype(np.float32), self.gy.astype(np.float32))
        self.grid = np.ascontiguousarray(np.stack([gx, gy], axis=-1))  # (ch, cw, 2) absolute sample positions
        self._src_t = np.ascontiguousarray(self.src[self.tris])
        self._src_areas = _signed_areas(self._src_t)
        self._gx64 = np.ascontiguousarray(self.gx, dtype=np.float64)
        self._gy64 = np.ascontiguousarray(self.gy, dtype=np.float64)
        self._all = np.ones(len(self.tris), bool)
        # The compiled kernel when it loads; the numpy path stays the reference and the fallback.
        self.compiled = raster.available()

    def sample(self, dst_points: np.ndarray, active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(displacement (ch, cw, 2) float32, covered (ch, cw) bool): source minus sample position."""
        s = self.step
        if self.compiled:
            disp = np.zeros((self.ch, self.cw, 2), np.float32)
            covered = np.zeros((self.ch, self.cw), bool)
            act = self._all if active is None else np.ascontiguousarray(active, dtype=bool)
            raster.sample_grid(np.ascontiguousarray(dst_points, dtype=np.float64), self.tris, self._src_t, self._src_areas, act,
                               0.05 * s * s, (self.ex0, self.ey0), s, self._gx64, self._gy64, disp, covered)
            return disp, covered
        d = dst_points.astype(np.float64)[self.tris]  # (T, 3, 2)
        areas = _signed_areas(d)
        # Collapsed or folded triangles cover no real area; drawing them would paint lines.
        ok = (np.abs(areas) > 0.05 * s * s) & (np.sign(areas) == np.sign(self._src_areas))
        if active is not None:
            ok &= active
        idx = np.flatnonzero(ok)
        disp = np.zeros((self.ch, self.cw, 2), np.float32)
        covered = np.zeros((self.ch, self.cw), bool)
        if len(idx) == 0:
            return disp, covered
        d = d[idx]
        hit = self._raster(d, areas[idx])
        if hit is None:
            return disp, covered
        k, xs, ys, px, py, m = hit
        affine = np.ascontiguousarray((m @ self._src_t[idx]).transpose(0, 2, 1).reshape(-1, 6))
        a = affine[k]
        disp[ys, xs, 0] = px * a[:, 0] + py * a[:, 1] + a[:, 2] - px
        disp[ys, xs, 1] = px * a[:, 3] + py * a[:, 4] + a[:, 5] - py
        covered[ys, xs] = True
        return disp, covered

    def _raster(self, d: np.ndarray, areas: np.ndarray):
        """Samples inside triangles ``d`` (K, 3, 2), later ones winning: (k, xs, ys, px, py, m) or None."""
        s = self.step
        # Candidate (triangle, sample) pairs from each triangle's bounding box, all at once.
        jx = (d[..., 0] - self.ex0 + 0.5) / s - 0.5  # sample-index coordinates
        jy = (d[..., 1] - self.ey0 + 0.5) / s - 0.5
        bx0 = np.clip(np.ceil(jx.min(1) - 1e-6), 0, self.cw).astype(np.int64)
        bx1 = np.clip(np.floor(jx.max(1) + 1e-6) + 1, 0, self.cw).astype(np.int64)
        by0 = np.clip(np.ceil(jy.min(1) - 1e-6), 0, self.ch).astype(np.int64)
        by1 = np.clip(np.floor(jy.max(1) + 1e-6) + 1, 0, self.ch).astype(np.int64)
        bw, bh = np.maximum(bx1 - bx0, 0), np.maximum(by1 - by0, 0)
        counts = bw * bh
        total = int(counts.sum())
        if total == 0:
            return None
        k = np.repeat(np.arange(len(d)), counts)
        offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        wk = np.repeat(bw, counts)
        xs = np.repeat(bx0, counts) + offs % wk
        ys = np.repeat(by0, counts) + offs // wk
        m = _barycentric_rows(d, areas)  # (K, 3, 3): [x, y, 1] @ m = barycentric weights
        # Two weights decide inside-ness (the third is 1 minus them). Per-triangle
        # coefficients are repeated per candidate (1-D repeats are far cheaper than row gathers).
        px, py = self.gx[xs], self.gy[ys]
        b1 = px * np.repeat(m[:, 0, 1], counts) + py * np.repeat(m[:, 1, 1], counts) + np.repeat(m[:, 2, 1], counts)
        b2 = px * np.repeat(m[:, 0, 2], counts) + py * np.repeat(m[:, 1, 2], counts) + np.repeat(m[:, 2, 2], counts)
        inside = (b1 >= -1e-4) & (b2 >= -1e-4) & (b1 + b2 <= 1 + 1e-4)
        k, xs, ys, px, py = k[inside], xs[inside], ys[inside], px[inside], py[inside]
        # Later triangles win where they overlap.
        flat = ys * self.cw + xs
        top = np.full(self.ch * self.cw, -1, np.int64)
        np.maximum.at(top, flat, k)
        win = top[flat] == k
        return k[win], xs[win], ys[win], px[win], py[win], m

    def upsample(self, field: np.ndarray, interpolation: int | None = None) -> np.ndarray:
        """A grid field at full resolution over exactly ``box``."""
        import cv2

        s, p = self.step, self.pad * self.step
        x0, y0, x1, y1 = self.box
        if s == 1:
            return field[p:p + (y1 - y0), p:p + (x1 - x0)]
        interp = cv2.INTER_LINEAR if interpolation is None else interpolation
        full = cv2.resize(field, (self.cw * s, self.ch * s), interpolation=interp)
        return full[p:p + (y1 - y0), p:p + (x1 - x0)]


class TriangleWarper:
    """Backward piecewise-affine warp of one rectangular region of a fixed base frame.

    ``triangles`` are drawn in order (later ones win where they overlap), so
    callers list "under" layers (mouth/eye interiors) first.
    """

    def __init__(self, base: np.ndarray, src_points: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int, int], step: int):
        self.base = base
        self.mapper = GridMapper(src_points, triangles, box, step)
        self.box, self.step = box, self.mapper.step

    def maps(self, dst_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Absolute source coordinates (map_x, map_y) for every pixel of the region."""
        disp, _ = self.mapper.sample(dst_points)
        full = self.mapper.upsample(self.mapper.grid + disp)
        return np.ascontiguousarray(full[..., 0]), np.ascontiguousarray(full[..., 1])

    def warp(self, dst_points: np.ndarray) -> np.ndarray:
        """The warped region (roi_h, roi_w, 3), sampled from the whole base frame."""
        import cv2

        map_x, map_y = self.maps(dst_points)
        return cv2.remap(self.base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def feather_weights(grid: np.ndarray, step: int, polygon: np.ndarray, box: tuple[int, int, int, int], fall: float) -> np.ndarray:
    """Per grid sample: 1 inside ``polygon``, easing to 0 at the box border.

    The ease spans the gap between polygon and border, and at least ``fall``
    pixels inside the border (where the polygon reaches past it).
    """
    import cv2

    ch, cw = grid.shape[:2]
    origin = grid[0, 0]
    mask = np.zeros((ch, cw), np.uint8)
    poly = np.round((polygon - origin) / step * 16).astype(np.int32)
    cv2.fillPoly(mask, [poly], 255, cv2.LINE_8, 4)
    d_out = cv2.distanceTransform(255 - mask, cv2.DIST_L2, 5) * step  # pixels outside the polygon
    x0, y0, x1, y1 = box
    gx, gy = grid[..., 0], grid[..., 1]
    d_b = np.minimum.reduce([gx - x0, x1 - 1 - gx, gy - y0, y1 - 1 - gy]).clip(0, None)
    t = np.clip(d_b / np.maximum(d_b + d_out, 1e-6), 0, 1) * np.clip(d_b / max(1.0, fall), 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def invert_affine(m: np.ndarray) -> np.ndarray:
    (a, b, tx), (c, d, ty) = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


class FaceWarp:
    """The per-frame warp of the animated region, split for speed.

    Local face motion (mouth, jaw, lids, brows) is drawn only for triangles that
    moved, on a coarse grid; head motion is a similarity composed on top through
    a feathered weight (1 on the face, 0 at the region border), so the region
    border never moves. The lips get an exact fine-grid warp (with the head
    applied to their vertices, valid because the weight is 1 there).
    """

    MOVE_EPS = 0.1  # pixels: vertices that moved less count as still

    def __init__(self, base: np.ndarray, src_points: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int, int], step: int,
                 feather: np.ndarray, fall: float, detail_box: tuple[int, int, int, int] | None = None, detail_step: int = 1,
                 detail_points: np.ndarray | None = None):
        self.base = base
        self.box = box
        self.step = step
        self.src = src_points.astype(np.float64)
        self.tris = triangles.astype(np.int32)
        self.coarse = GridMapper(src_points, triangles, box, step)
        self.weight = feather_weights(self.coarse.grid, self.coarse.step, feather, box, fall)[..., None]
        self.detail = None
        if detail_box is not None and detail_step < step:
            # Only triangles touching ``detail_points`` (the lips): the rest are smooth enough coarse.
            near = np.zeros(len(self.src), bool)
            near[detail_points] = True
            # Plus one ring of neighbours: the seam to the coarse map then sits where motion is gentle.
            near[self.tris[near[self.tris].any(axis=1)].ravel()] = True
            self.detail_sel = np.flatnonzero(near[self.tris].any(axis=1))
            self.detail = GridMapper(src_points, self.tris[self.detail_sel], detail_box, detail_step)
            c = self.coarse  # where each fine sample sits on the coarse grid (index units)
            self._detail_in_coarse = np.ascontiguousarray((self.detail.grid - np.array([c.ex0, c.ey0], np.float32) + 0.5) / c.step - 0.5)

    def maps(self, local_dst: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
        """(roi_h, roi_w, 2) float32 absolute source coordinates of every region pixel."""
        import cv2

        moved = (np.abs(local_dst - self.src) > self.MOVE_EPS).any(axis=1)
        active = moved[self.tris].any(axis=1)
        c = self.coarse
        disp, _ = c.sample(local_dst, active)
        if head is None:
            coarse_map = c.grid + disp
        else:
            inv = invert_affine(head).astype(np.float32)
            g = c.grid
            y = g + self.weight * (g @ inv[:, :2].T + inv[:, 2] - g)  # pre-head position of each sample
            idx = (y - np.array([c.ex0, c.ey0], np.float32) + 0.5) / c.step - 0.5
            local = cv2.remap(disp, idx[..., 0], idx[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            coarse_map = y + local
        full = c.upsample(coarse_map)
        if self.detail is not None:
            dm = self.detail
            dst = local_dst if head is None else local_dst @ head[:, :2].T + head[:, 2]
            ddisp, covered = dm.sample(dst, active[self.detail_sel])
            if covered.any():
                # Uncovered fine samples take the coarse map there, so one plain (unmasked)
                # copy pastes the fine map and the two meet without a seam.
                fine = dm.grid + ddisp
                under = cv2.remap(coarse_map, self._detail_in_coarse, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                np.copyto(fine, under, where=~covered[..., None])
                bx0, by0, bx1, by1 = dm.box
                ox, oy = bx0 - self.box[0], by0 - self.box[1]
                full[oy:oy + (by1 - by0), ox:ox + (bx1 - bx0)] = dm.upsample(fine)
        return full

    def warp(self, local_dst: np.ndarray, head: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """The warped region (roi_h, roi_w, 3), sampled from the whole base frame.

        ``out`` (a region-sized view, e.g. into the output frame) receives it in place.
        """
        import cv2

        maps = self.maps(local_dst, head)
        if out is None:
            return cv2.remap(self.base, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        res = cv2.remap(self.base, maps, None, cv2.INTER_LINEAR, dst=out, borderMode=cv2.BORDER_REPLICATE)
        if not np.shares_memory(res, out):  # OpenCV had to reallocate (unusual strides)
            out[...] = res
        return out
