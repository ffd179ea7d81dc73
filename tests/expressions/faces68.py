"""A hand-made neutral iBUG-68 face (units of inter-ocular distance, y down)."""

from __future__ import annotations

import numpy as np


def neutral68() -> np.ndarray:
    pts = np.zeros((68, 2))
    t = np.linspace(np.pi, 0.0, 17)
    pts[0:17] = np.stack([-np.cos(np.pi - t), 0.1 + 1.6 * np.sin(t)], axis=1)  # jaw line, ear to ear via the chin
    pts[17:22] = np.stack([np.linspace(-0.85, -0.15, 5), [-0.25, -0.33, -0.37, -0.37, -0.36]], axis=1)
    pts[22:27] = pts[17:22][::-1] * [-1, 1]
    pts[27:31] = [[0, 0.0], [0, 0.2], [0, 0.4], [0, 0.6]]
    pts[31:36] = np.stack([np.linspace(-0.2, 0.2, 5), np.full(5, 0.7)], axis=1)
    pts[36:42] = [[-0.72, 0], [-0.58, -0.08], [-0.42, -0.08], [-0.28, 0], [-0.42, 0.08], [-0.58, 0.08]]
    pts[42:48] = [[0.28, 0], [0.42, -0.08], [0.58, -0.08], [0.72, 0], [0.58, 0.08], [0.42, 0.08]]
    pts[48:60] = [[-0.4, 1.05], [-0.25, 0.98], [-0.1, 0.95], [0, 0.96], [0.1, 0.95], [0.25, 0.98],
                  [0.4, 1.05], [0.25, 1.15], [0.1, 1.18], [0, 1.19], [-0.1, 1.18], [-0.25, 1.15]]  # fmt: skip
    pts[60:68] = [[-0.35, 1.05], [-0.1, 1.04], [0, 1.04], [0.1, 1.04], [0.35, 1.05], [0.1, 1.06], [0, 1.06], [-0.1, 1.06]]
    return pts


# Points that move down when the jaw opens: lower lip (outer and inner) and the lower jaw line.
JAW_POINTS = list(range(4, 13)) + list(range(55, 60)) + [65, 66, 67]
