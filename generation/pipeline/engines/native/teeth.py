"""The teeth behind the lips: upper teeth fixed to the head, lower teeth carried by the jaw.

Built once per job in the face's own axes (pixels from the mouth centre, with
depth) from the rest mouth: the incisal edges sit just under the closed lip
line, rise toward the back (the smile arc), and are notched between teeth;
tooth boundaries follow real crown widths seen from the front (central incisor
about 0.14 of the inter-ocular distance, each tooth further back narrower as
the arch turns away). Each frame places them with the head (turn, roll, slide)
and drops the lower ones with the jaw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Projected crown edges from the midline, in inter-ocular units (≈ 62 mm): central
# incisor 8.5 mm, lateral 6.5, canine 7.5 (foreshortened to ~4.5), premolars, molar.
UPPER_BOUNDS = np.array([0.0, 0.137, 0.234, 0.306, 0.363, 0.411, 0.45, 0.49])
LOWER_BOUNDS = np.array([0.0, 0.086, 0.18, 0.26, 0.33, 0.39, 0.44, 0.49])
UPPER_LENGTH, LOWER_LENGTH = 0.17, 0.14  # visible crown heights
EDGE_BELOW_LIPS = 0.06  # upper incisal edge under the closed lip line
OVERBITE = 0.035  # lower edges hide this far behind the upper teeth when the jaw is closed
SMILE_ARC = 0.045  # how far the edges rise by the last tooth
DEPTH_BEHIND_LIPS = 0.06
SAMPLES = 97


@dataclass(frozen=True)
class Dentition:
    """Teeth in face axes (u, v, depth), pixels from the mouth centre."""

    upper_edge: np.ndarray  # (K, 3), image left to right
    lower_edge: np.ndarray  # (K, 3), jaw closed
    upper_bounds: np.ndarray  # (B, 3) tooth boundaries on the upper edge
    upper_q: np.ndarray  # (B,) tooth coordinate of each boundary (0 at the midline)
    lower_bounds: np.ndarray
    lower_q: np.ndarray
    upper_len: float
    lower_len: float
    stacked: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # upper edge, lower edge, upper and lower bounds, in one array
    splits: tuple[int, int, int] = (0, 0, 0)  # where ``stacked`` changes part

    @staticmethod
    def of(upper_edge, lower_edge, upper_bounds, upper_q, lower_bounds, lower_q, upper_len, lower_len) -> Dentition:
        """A dentition with its parts also stacked once (``place`` turns them all in one go each frame)."""
        parts = (upper_edge, lower_edge, upper_bounds, lower_bounds)
        k1, k2, k3 = (int(k) for k in np.cumsum([len(p) for p in parts[:3]]))
        return Dentition(upper_edge, lower_edge, upper_bounds, upper_q, lower_bounds, lower_q, upper_len, lower_len,
                         np.concatenate(parts), (k1, k2, k3))


@dataclass(frozen=True)
class TeethFrame:
    """One frame's teeth in frame pixels."""

    upper_edge: np.ndarray  # (K, 2)
    lower_edge: np.ndarray
    upper_bounds: np.ndarray  # (B, 2)
    upper_q: np.ndarray
    lower_bounds: np.ndarray
    lower_q: np.ndarray
    upper_len: float
    lower_len: float


def _bounds(table: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed boundary positions (inter-ocular units) and their tooth coordinate."""
    pos = np.concatenate([-table[:0:-1], table]) * scale
    q = np.concatenate([-np.arange(len(table) - 1, 0, -1), np.arange(len(table))]).astype(np.float64)
    return pos, q


def _edge_profile(a: np.ndarray, pos: np.ndarray, q_at: np.ndarray, iod: float, short_laterals: bool) -> np.ndarray:
    """How far (up, pixels) each edge sample sits above the plain arc: rounded corners, shorter and pointed teeth."""
    q = np.interp(a, pos, q_at)
    w = q - np.floor(q)
    n = np.abs(np.floor(q) + 0.5) - 0.5
    up = 0.012 * iod * (1 - np.sin(np.pi * w)) ** 4  # rounded incisal corners
    if short_laterals:
        up += 0.01 * iod * (n == 1)
    up += (0.012 * iod * np.abs(2 * w - 1)) * (n == 2)  # the canine's cusp
    up += 0.015 * iod * (n >= 3)
    return up


def build_dentition(closed_line: np.ndarray, depth_line: np.ndarray, iod: float, half_width: float) -> Dentition:
    """Teeth for a mouth whose closed lip line is ``closed_line`` ((M, 2) face axes, corner to corner) at ``depth_line`` (M,)."""
    order = np.argsort(closed_line[:, 0])
    line_u, line_v, line_z = closed_line[order, 0], closed_line[order, 1], depth_line[order]
    # Wide mouths show wider arches; keep within the range of real faces.
    scale = float(np.clip(half_width / (0.36 * iod), 0.85, 1.2))
    a = np.linspace(-0.5, 0.5, SAMPLES) * iod * scale
    arc = SMILE_ARC * iod * (a / (0.45 * iod * scale)) ** 2
    base_v = np.interp(a, line_u, line_v)
    depth = np.interp(a, line_u, line_z) + DEPTH_BEHIND_LIPS * iod
    up_pos, up_q = _bounds(UPPER_BOUNDS, scale * iod)
    lo_pos, lo_q = _bounds(LOWER_BOUNDS, scale * iod)
    upper_v = base_v + EDGE_BELOW_LIPS * iod - arc - _edge_profile(a, up_pos, up_q, iod, True)
    lower_v = base_v + (EDGE_BELOW_LIPS - OVERBITE) * iod - 0.7 * arc - _edge_profile(a, lo_pos, lo_q, iod, False) * 0.6
    upper = np.column_stack([a, upper_v, depth])
    lower = np.column_stack([a, lower_v, depth + 0.02 * iod])
    ub = np.column_stack([up_pos, np.interp(up_pos, a, upper_v), np.interp(up_pos, a, depth)])
    lb = np.column_stack([lo_pos, np.interp(lo_pos, a, lower_v), np.interp(lo_pos, a, depth)])
    return Dentition.of(upper, lower, ub, up_q, lb, lo_q, UPPER_LENGTH * iod, LOWER_LENGTH * iod)


def place(dent: Dentition, head, yaw: float, pitch: float, jaw_drop: float, matrix: np.ndarray | None) -> TeethFrame:
    """The teeth in frame pixels: turned with the head (``head``: a ``head.HeadModel``), the lower ones dropped by ``jaw_drop`` px."""
    points3 = dent.stacked
    d = points3[:, :2] + head.displacement(yaw, pitch, points3)
    k1, k2, k3 = dent.splits
    d[k1:k2, 1] += jaw_drop
    d[k3:, 1] += jaw_drop
    pts = head.origin + d[:, :1] * head.u + d[:, 1:] * head.v
    if matrix is not None:
        pts = pts @ matrix[:, :2].T + matrix[:, 2]
    return TeethFrame(upper_edge=pts[:k1], lower_edge=pts[k1:k2], upper_bounds=pts[k2:k3], upper_q=dent.upper_q,
                      lower_bounds=pts[k3:], lower_q=dent.lower_q, upper_len=dent.upper_len, lower_len=dent.lower_len)


def from_lips(upper: np.ndarray, lower: np.ndarray, iod: float, axis_u: np.ndarray) -> TeethFrame:
    """Teeth for bare lip contours (no rig): edges hung from the lips themselves, mouth roll ``axis_u``."""
    u = axis_u / (np.linalg.norm(axis_u) + 1e-9)
    v = np.array([-u[1], u[0]])
    centre = 0.5 * (upper[0] + upper[-1])
    closed = 0.5 * (upper + lower) - centre
    loc = np.column_stack([closed @ u, (upper - centre) @ v + 0.06 * iod])
    half_width = 0.5 * float((upper[-1] - upper[0]) @ u)
    dent = build_dentition(loc, np.zeros(len(loc)), iod, half_width)

    def frame(points3: np.ndarray) -> np.ndarray:
        return centre + points3[:, :1] * u + points3[:, 1:2] * v

    lower_gap = float(np.max((lower - upper) @ v))
    drop = max(0.0, lower_gap - 0.1 * iod)
    lower_edge = frame(dent.lower_edge) + drop * v
    return TeethFrame(upper_edge=frame(dent.upper_edge), lower_edge=lower_edge, upper_bounds=frame(dent.upper_bounds),
                      upper_q=dent.upper_q, lower_bounds=frame(dent.lower_bounds) + drop * v, lower_q=dent.lower_q,
                      upper_len=dent.upper_len, lower_len=dent.lower_len)
