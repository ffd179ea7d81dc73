"""Nasolabial folds that deepen with a smile, and anger's frown lines and darkened brows, painted on the photo's own skin.

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

from generation.pipeline.engines.native.roi import carry_sprite

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


@dataclass
class _Fold:
    gain: np.ndarray  # (h, w) float32: how much the paint darkens (negative) or lightens each pixel, on the rest face
    origin: np.ndarray  # frame pixels of gain[0, 0]
    anchors: np.ndarray  # (3, 2) rest positions of the landmarks it hangs from
    anchor_ids: np.ndarray  # (3, 2) mesh ids: each anchor is the midpoint of its pair


def _anchor_points(pts: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return (0.5 * (pts[ids[:, 0]] + pts[ids[:, 1]])).astype(np.float32)


def _stroke(line: np.ndarray, off: np.ndarray, shape: tuple[int, int], width: int, blur: int, fade: np.ndarray) -> np.ndarray:
    """``line`` drawn ``width`` px wide (each segment at its ``fade`` level), blurred: a 0..1 float32 map."""
    import cv2

    canvas = np.zeros(shape, np.uint8)
    for i in range(len(line) - 1):
        level = int(round(255 * 0.5 * (fade[i] + fade[i + 1])))
        cv2.polylines(canvas, [np.round((line[i:i + 2] - off) * 16).astype(np.int32)], False, level, width, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(canvas, (blur, blur), 0).astype(np.float32) / 255.0


class _GainPainter:
    """Gain maps drawn once on the rest face, carried each frame by three landmarks and multiplied into
    the pixels (the skin keeps its texture and colour). Subclasses fill ``folds``."""

    def __init__(self, scale: float = 1.0, cap: float = np.inf):
        self.folds: list[_Fold] = []
        self.scale, self.cap = scale, cap

    def _add(self, rest: np.ndarray, anchor_ids, strokes: list[tuple[np.ndarray, int, int, float, float]]) -> None:
        """One gain map from ``strokes``: (polyline, width, blur, fade exponent, gain)."""
        both = np.concatenate([line for line, *_ in strokes])
        margin = 2 * max(blur for _, _, blur, _, _ in strokes) + 2
        x0, y0 = np.floor(both.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(both.max(axis=0)).astype(int) + margin + 1
        off = np.array([x0, y0], np.float64)
        gain = np.zeros((y1 - y0, x1 - x0), np.float32)
        for line, width, blur, power, weight in strokes:
            fade = np.sin(np.pi * np.linspace(0.0, 1.0, len(line))) ** power  # strongest mid-line, fading at both ends
            gain += weight * _stroke(line, off, gain.shape, width, blur, fade)
        ids = np.asarray(anchor_ids, dtype=int)
        self.folds.append(_Fold(gain=gain, origin=off, anchors=_anchor_points(rest, ids), anchor_ids=ids))

    def paint(self, roi: np.ndarray, origin: tuple[int, int], pts: np.ndarray, strength: float) -> None:
        """Paint every map at ``strength`` (0..1, times the painter's scale) in ``roi`` (in place), carried to mesh ``pts``."""
        amount = min(self.cap, strength * self.scale)
        if amount <= 0.02:
            return
        for fold in self.folds:
            _paint_gain(roi, origin, fold, _anchor_points(pts, fold.anchor_ids), amount)


class FoldPainter(_GainPainter):
    """Both nasolabial folds: a soft dark crease with the cheek lit above it."""

    def __init__(self, rest: np.ndarray, iod: float, u: np.ndarray, v: np.ndarray, strength_scale: float = 1.0):
        super().__init__(scale=strength_scale)  # a photo that already smiles has its folds already
        self.iod, self.u, self.v = iod, u, v
        width = max(1, int(round(0.025 * iod)))
        blur = max(3, int(0.09 * iod) | 1)
        for side, (wing, mids, corner) in enumerate(FOLDS):
            line = fold_curve(rest, side, iod, u, v)
            out = (-1.0 if side == 0 else 1.0) * u
            light = line + out * 0.05 * iod - v * 0.02 * iod  # the cheek bulging over the crease
            self._add(rest, [(wing, wing), mids, (corner, corner)],
                      [(line, width, blur, 0.6, -DARK), (light, 2 * width + 1, 2 * blur + 1, 0.6, LIGHT)])

    def curve(self, pts: np.ndarray, side: int) -> np.ndarray:
        return fold_curve(pts, side, self.iod, self.u, self.v)


def _paint_gain(roi: np.ndarray, origin: tuple[int, int], fold: _Fold, now: np.ndarray, amount: float) -> None:
    """Multiply ``roi`` (in place) by 1 + amount * gain, the gain map carried from its rest anchors to ``now``."""
    import cv2

    m = cv2.getAffineTransform(fold.anchors, now).astype(np.float64)  # rest -> now, frame pixels
    carried = carry_sprite(fold.gain, fold.origin, m, origin, roi.shape, pad=0)
    if carried is None:
        return
    gain, (x0, y0, x1, y1) = carried
    region = roi[y0:y1, x0:x1]
    factor = cv2.addWeighted(gain, amount, gain, 0.0, 1.0)  # 1 + amount * gain, in one pass
    region[...] = cv2.multiply(region, cv2.merge([factor, factor, factor]), dtype=cv2.CV_8U)  # saturating


# Frown lines: (inner brow end, glabella, nose bridge) per side, image left first.
FROWNS = ((107, 9, 168), (336, 9, 168))
FROWN_DARK = 0.22


def crease(pts: np.ndarray, side: int, iod: float, v: np.ndarray) -> np.ndarray:
    """One frown line (side 0: image left) on mesh ``pts``: vertical, between the inner brow end and the
    midline, from above the brows down to the top of the nose bridge."""
    brow, glabella, _ = FROWNS[side]
    mid = 0.45 * pts[brow] + 0.55 * pts[glabella]
    return mid - 0.14 * iod * v + np.linspace(0, 1, 8)[:, None] * 0.2 * iod * v


class FrownPainter(_GainPainter):
    """The vertical creases between the brows that anger (corrugator) draws as it pulls them down and in,
    carried by the inner brow end, glabella and nose bridge."""

    def __init__(self, rest: np.ndarray, iod: float, u: np.ndarray, v: np.ndarray):
        super().__init__(cap=1.0)
        width = max(1, int(round(0.018 * iod)))
        blur = max(3, int(0.05 * iod) | 1)
        for side, ids in enumerate(FROWNS):
            self._add(rest, [(i, i) for i in ids], [(crease(rest, side, iod, v), width, blur, 0.5, -FROWN_DARK)])


# Lower edge of each brow, outer end to inner end, image left first.
BROW_LOWER = ((46, 53, 52, 65, 55), (276, 283, 282, 295, 285))
BROW_SHADOW_DARK = 0.5
SHADOW_BELOW = -0.03  # the band sits on the brow hair itself, just above its lower edge


class BrowShadowPainter(_GainPainter):
    """Anger's lowered, bunched brows: a soft darker band along each brow (the hair drawn together and
    the brow ridge's shadow), carried by its outer end, middle and inner end. Face trackers (and
    people) read faint brows by this band; warping a faint brow down alone barely registers."""

    def __init__(self, rest: np.ndarray, iod: float, u: np.ndarray, v: np.ndarray):
        super().__init__(cap=1.0)
        width = max(1, int(round(0.05 * iod)))
        blur = max(3, int(0.08 * iod) | 1)
        for ids in BROW_LOWER:
            line = rest[list(ids)] + SHADOW_BELOW * iod * v
            self._add(rest, [(ids[0], ids[0]), (ids[2], ids[2]), (ids[4], ids[4])], [(line, width, blur, 0.4, -BROW_SHADOW_DARK)])
