"""Nasolabial folds that deepen with a smile, and anger's frown lines between the brows, painted on the photo's own skin.

Each fold runs from the nose wing, outside the mouth corner, to just below it.
Its shading (a soft dark crease with the cheek lit above it) is drawn once, on
the rest face, as a small gain map; each frame carries the map with the three
landmarks it hangs from (nose wing, mid-fold, mouth corner), so the fold moves
with the corner and the head. The paint only multiplies the pixels already
there, so the skin keeps its texture and colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (nose wing, mid-fold points, mouth corner) per side, image left first.
FOLDS = ((64, (92, 186), 61), (294, (322, 410), 291))
DARK, LIGHT = 0.35, 0.05  # at full strength: the crease darkens by DARK, the cheek above brightens by LIGHT


def fold_curve(pts: np.ndarray, side: int, iod: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The fold's polyline for side 0 (image left) or 1, on mesh ``pts``."""
    wing, mids, corner = FOLDS[side]
    out = -1.0 if side == 0 else 1.0
    p0 = pts[wing] + out * 0.03 * iod * u
    p1 = 0.5 * (pts[mids[0]] + pts[mids[1]]) + out * 0.05 * iod * u
    p2 = pts[corner] + out * 0.08 * iod * u + 0.03 * iod * v
    p3 = pts[corner] + out * 0.07 * iod * u + 0.1 * iod * v
    t = np.linspace(0, 1, 12)[:, None]
    first = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    return np.concatenate([first, p2 + t[1:] * (p3 - p2)])


def _anchors(pts: np.ndarray, side: int) -> np.ndarray:
    wing, mids, corner = FOLDS[side]
    return np.array([pts[wing], 0.5 * (pts[mids[0]] + pts[mids[1]]), pts[corner]], np.float32)


@dataclass
class _Fold:
    gain: np.ndarray  # (h, w) float32: -DARK * crease + LIGHT * cheek, on the rest face
    origin: np.ndarray  # frame pixels of gain[0, 0]
    anchors: np.ndarray  # (3, 2) rest positions of the landmarks it hangs from


class FoldPainter:
    def __init__(self, rest: np.ndarray, iod: float, u: np.ndarray, v: np.ndarray, strength_scale: float = 1.0):
        import cv2

        self.iod, self.u, self.v = iod, u, v
        self.scale = strength_scale  # a photo that already smiles has its folds already
        self.folds: list[_Fold] = []
        width = max(1, int(round(0.025 * iod)))
        blur = max(3, int(0.09 * iod) | 1)
        for side in (0, 1):
            line = fold_curve(rest, side, iod, u, v)
            out = (-1.0 if side == 0 else 1.0) * u
            light = line + out * 0.05 * iod - v * 0.02 * iod  # the cheek bulging over the crease
            both = np.concatenate([line, light])
            margin = 2 * blur + 2
            x0, y0 = np.floor(both.min(axis=0)).astype(int) - margin
            x1, y1 = np.ceil(both.max(axis=0)).astype(int) + margin + 1
            off = np.array([x0, y0], np.float64)
            dark = np.zeros((y1 - y0, x1 - x0), np.uint8)
            lit = np.zeros_like(dark)
            # Strongest beside the nose wing and the corner's side, fading out at both ends.
            fade = np.sin(np.pi * np.linspace(0.0, 1.0, len(line))) ** 0.6
            for i in range(len(line) - 1):
                level = int(round(255 * 0.5 * (fade[i] + fade[i + 1])))
                seg = np.round((line[i:i + 2] - off) * 16).astype(np.int32)
                cv2.polylines(dark, [seg], False, level, width, cv2.LINE_AA, 4)
                cv2.polylines(lit, [np.round((light[i:i + 2] - off) * 16).astype(np.int32)], False, level, 2 * width + 1, cv2.LINE_AA, 4)
            d = cv2.GaussianBlur(dark, (blur, blur), 0).astype(np.float32) / 255.0
            li = cv2.GaussianBlur(lit, (2 * blur + 1, 2 * blur + 1), 0).astype(np.float32) / 255.0
            self.folds.append(_Fold(gain=-DARK * d + LIGHT * li, origin=off, anchors=_anchors(rest, side)))

    def curve(self, pts: np.ndarray, side: int) -> np.ndarray:
        return fold_curve(pts, side, self.iod, self.u, self.v)

    def paint(self, roi: np.ndarray, origin: tuple[int, int], pts: np.ndarray, strength: float) -> None:
        """Deepen both folds by ``strength`` (0..1) in ``roi`` (in place), carried to mesh ``pts``."""
        amount = strength * self.scale
        if amount <= 0.02:
            return
        for side, fold in enumerate(self.folds):
            _paint_gain(roi, origin, fold, _anchors(pts, side), amount)


def _paint_gain(roi: np.ndarray, origin: tuple[int, int], fold: _Fold, now: np.ndarray, amount: float) -> None:
    """Multiply ``roi`` (in place) by 1 + amount * gain, the gain map carried from its rest anchors to ``now``."""
    import cv2

    ox, oy = origin
    m = cv2.getAffineTransform(fold.anchors, now).astype(np.float64)  # rest -> now, frame pixels
    h, w = fold.gain.shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) + fold.origin
    box = corners @ m[:, :2].T + m[:, 2]
    x0 = max(0, int(np.floor(box[:, 0].min())) - ox)
    y0 = max(0, int(np.floor(box[:, 1].min())) - oy)
    x1 = min(roi.shape[1], int(np.ceil(box[:, 0].max())) + 1 - ox)
    y1 = min(roi.shape[0], int(np.ceil(box[:, 1].max())) + 1 - oy)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    # Map from the gain map's pixels to this box's pixels.
    to_box = m.copy()
    to_box[:, 2] = m[:, :2] @ fold.origin + m[:, 2] - (ox + x0, oy + y0)
    gain = cv2.warpAffine(fold.gain, to_box, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    region = roi[y0:y1, x0:x1]
    region[...] = np.clip(region * (1.0 + amount * gain)[..., None], 0, 255).astype(np.uint8)


# Frown lines: (inner brow end, glabella, nose bridge) per side, image left first.
FROWNS = ((107, 9, 168), (336, 9, 168))
FROWN_DARK = 0.22


def crease(pts: np.ndarray, side: int, iod: float, v: np.ndarray) -> np.ndarray:
    """One frown line (side 0: image left) on mesh ``pts``: vertical, between the inner brow end and the
    midline, from above the brows down to the top of the nose bridge."""
    brow, glabella, _ = FROWNS[side]
    mid = 0.45 * pts[brow] + 0.55 * pts[glabella]
    return mid - 0.14 * iod * v + np.linspace(0, 1, 8)[:, None] * 0.2 * iod * v


class FrownPainter:
    """The vertical creases between the brows that anger (corrugator) draws as it pulls them down and in.

    Drawn once on the rest face as gain maps, carried each frame by the inner brow end,
    glabella and nose bridge, and only multiplied into the pixels (the skin keeps its texture).
    """

    def __init__(self, rest: np.ndarray, iod: float, u: np.ndarray, v: np.ndarray):
        import cv2

        self.folds: list[_Fold] = []
        width = max(1, int(round(0.018 * iod)))
        blur = max(3, int(0.05 * iod) | 1)
        for side, (brow, glabella, bridge) in enumerate(FROWNS):
            line = crease(rest, side, iod, v)
            margin = 2 * blur + 2
            x0, y0 = np.floor(line.min(axis=0)).astype(int) - margin
            x1, y1 = np.ceil(line.max(axis=0)).astype(int) + margin + 1
            off = np.array([x0, y0], np.float64)
            dark = np.zeros((y1 - y0, x1 - x0), np.uint8)
            fade = np.sin(np.pi * np.linspace(0.0, 1.0, len(line))) ** 0.5
            for i in range(len(line) - 1):
                seg = np.round((line[i:i + 2] - off) * 16).astype(np.int32)
                cv2.polylines(dark, [seg], False, int(round(255 * 0.5 * (fade[i] + fade[i + 1]))), width, cv2.LINE_AA, 4)
            d = cv2.GaussianBlur(dark, (blur, blur), 0).astype(np.float32) / 255.0
            anchors = np.array([rest[brow], rest[glabella], rest[bridge]], np.float32)
            self.folds.append(_Fold(gain=-FROWN_DARK * d, origin=off, anchors=anchors))

    def paint(self, roi: np.ndarray, origin: tuple[int, int], pts: np.ndarray, strength: float) -> None:
        """Draw both creases at ``strength`` (0..1) in ``roi`` (in place), carried to mesh ``pts``."""
        if strength <= 0.02:
            return
        for fold, ids in zip(self.folds, FROWNS):
            _paint_gain(roi, origin, fold, pts[list(ids)].astype(np.float32), min(1.0, strength))
