"""Piecewise-affine warp of the face region, fast enough for real-time CPU rendering.

The control mesh is the MediaPipe face tesselation (852 triangles over the first
468 landmarks) plus a Delaunay skirt from the face oval to a ring of fixed
anchors on the border of the animated region, so that region's border never
moves. Per frame, triangles are rasterised (triangle ids) on a coarse grid of
the region only, each coarse sample gets its triangle's dst->src affine, the
displacement is upsampled with ``cv2.resize`` and applied with one ``cv2.remap``.
"""

from __future__ import annotations

import collections
import functools
import logging
from dataclasses import dataclass

import numpy as np

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
    import cv2
    from scipy.spatial import Delaunay

    idx = np.array(list(oval) + list(range(extra_start, len(points))), dtype=np.int32)
    tri = Delaunay(points[idx].astype(np.float64))
    simplices = idx[tri.simplices]
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


@dataclass
class WarpStats:
    step: int
    triangles: int
    box: tuple[int, int, int, int]


class TriangleWarper:
    """Backward piecewise-affine warp of one rectangular region of a fixed base frame.

    ``triangles`` are drawn in order (later ones win where they overlap), so
    callers list "under" layers (mouth/eye interiors) first.
    """

    def __init__(self, base: np.ndarray, src_points: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int, int], step: int,
                 detail: "TriangleWarper | None" = None):
        import cv2

        self.base = base
        self.src = src_points.astype(np.float64)
        self.tris = triangles.astype(np.int32)
        self.box = box
        self.step = max(1, int(step))
        x0, y0, x1, y1 = box
        self.roi_w, self.roi_h = x1 - x0, y1 - y0
        self.cw = max(2, int(np.ceil(self.roi_w / self.step)))
        self.ch = max(2, int(np.ceil(self.roi_h / self.step)))
        # Coarse sample j sits where cv2.resize (INTER_LINEAR) expects it in full-res pixels.
        sx, sy = self.roi_w / self.cw, self.roi_h / self.ch
        self.cx = ((np.arange(self.cw) + 0.5) * sx - 0.5 + x0).astype(np.float32)
        self.cy = ((np.arange(self.ch) + 0.5) * sy - 0.5 + y0).astype(np.float32)
        self._sx, self._sy = sx, sy
        gx, gy = np.meshgrid(self.cx, self.cy)
        self.grid_x, self.grid_y = gx, gy
        fx, fy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self.full_x, self.full_y = fx, fy
        # Source triangle matrices (rows x, y) once.
        s = self.src[self.tris]  # (T, 3, 2)
        self._src_t = s
        self._ids = np.empty((self.ch, self.cw), dtype=np.int32)
        self._cv2 = cv2
        # A finer warper over a sub-box (the mouth): collapsing lips make the map
        # discontinuous there, and a coarse map would smear teeth into the seam.
        self.detail = detail

    def stats(self) -> WarpStats:
        return WarpStats(step=self.step, triangles=len(self.tris), box=self.box)

    def maps(self, dst_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Absolute source coordinates (map_x, map_y) for every pixel of the region."""
        cv2 = self._cv2
        d = dst_points.astype(np.float64)[self.tris]  # (T, 3, 2)
        areas = _signed_areas(d)
        src_areas = _signed_areas(self._src_t)
        # Collapsed or folded triangles cover no real area; drawing them would paint lines.
        ok = (np.abs(areas) > 0.05 * self.step * self.step) & (np.sign(areas) == np.sign(src_areas))
        # Rasterise ids on the coarse grid (fixed-point, 4 fractional bits).
        x0, y0 = self.box[0], self.box[1]
        gx = ((d[..., 0] - x0 + 0.5) / self._sx - 0.5) * 16.0
        gy = ((d[..., 1] - y0 + 0.5) / self._sy - 0.5) * 16.0
        pts = np.stack([gx, gy], axis=2).round().astype(np.int32)
        ids = self._ids
        ids.fill(-1)
        fill = cv2.fillConvexPoly
        for i in np.flatnonzero(ok):
            fill(ids, pts[i], int(i), cv2.LINE_8, 4)
        covered = ids >= 0
        if self.step > 1:
            self.covered = cv2.resize(covered.astype(np.uint8), (self.roi_w, self.roi_h), interpolation=cv2.INTER_NEAREST).astype(bool)
        else:
            self.covered = covered
        safe = np.where(covered, ids, 0)
        # Barycentric coordinates: pixels on the rim of a thin triangle must not
        # extrapolate its (steep) affine far away.
        gxs, gys = self.grid_x, self.grid_y
        m = _barycentric_rows(d, np.where(ok, areas, 1.0))[safe]  # (ch, cw, 3, 3)
        bary = gxs[..., None] * m[..., 0, :] + gys[..., None] * m[..., 1, :] + m[..., 2, :]
        # Rim pixels of ordinary triangles extrapolate exactly (neighbours share the
        # affine on the edge); only clearly-outside rims of collapsing ones are clamped.
        steep = np.abs(src_areas) > 3.0 * np.abs(areas)  # strongly compressed triangles
        far = (bary.min(-1) < -0.25) & steep[safe]
        if far.any():
            clamped = np.clip(bary[far], 0.0, None)
            bary[far] = clamped / np.maximum(clamped.sum(-1, keepdims=True), 1e-9)
        s = self._src_t[safe]  # (ch, cw, 3, 2)
        mx = (bary * s[..., 0]).sum(-1)
        my = (bary * s[..., 1]).sum(-1)
        dx = np.where(covered, mx - gxs, 0.0).astype(np.float32)
        dy = np.where(covered, my - gys, 0.0).astype(np.float32)
        size = (self.roi_w, self.roi_h)
        if self.step > 1:
            dx = cv2.resize(dx, size, interpolation=cv2.INTER_LINEAR)
            dy = cv2.resize(dy, size, interpolation=cv2.INTER_LINEAR)
        map_x, map_y = self.full_x + dx, self.full_y + dy
        if self.detail is not None:
            fx, fy = self.detail.maps(dst_points)
            covered = self.detail.covered
            bx0, by0, bx1, by1 = self.detail.box
            ox, oy = bx0 - self.box[0], by0 - self.box[1]
            sub_x = map_x[oy:oy + (by1 - by0), ox:ox + (bx1 - bx0)]
            sub_y = map_y[oy:oy + (by1 - by0), ox:ox + (bx1 - bx0)]
            np.copyto(sub_x, fx, where=covered)
            np.copyto(sub_y, fy, where=covered)
        return map_x, map_y

    def warp(self, dst_points: np.ndarray) -> np.ndarray:
        """The warped region (roi_h, roi_w, 3), sampled from the whole base frame."""
        cv2 = self._cv2
        map_x, map_y = self.maps(dst_points)
        return cv2.remap(self.base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
