"""Glasses that stay rigid: the dark rims of a pair of glasses, found in the photo and carried only with the head.

A face mesh puts the brows of someone wearing dark-rimmed glasses partly on
the rims, so warping the brows for an expression would bend the glasses with
them. ``find_rims`` looks, between the brows and the upper lids, for what
only a rim is: a very dark band (far darker than the skin around it, with
sharp edges on both sides) of even thickness, running smoothly across most of
both eyes; it then follows each rim out to its hinge and joins the two over
the nose (the bridge). When found (``RimPainter``):

- the warp samples a copy of the photo with the frame filled by the skin just
  above it (``source``): a raised brow uncovers that skin;
- each frame the frame is pasted back from the photo, moved only with the head;
- the brows' motion stops at the frame's lower edge (``brow_limits``): lowered
  brows slip behind the rims, raised ones lift the skin behind the lenses, and
  the hinges hold the skin around them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline import face as F
from generation.pipeline.engines.native.eyes import EYE_CONTOURS, contour_ids
from generation.pipeline.engines.native.roi import carry_sprite

logger = logging.getLogger(__name__)

DARK = 0.32  # a rim pixel is darker than this share of the skin's luminance (brows rarely are)
EDGE = 0.5  # ... and the skin just outside the rim, above and below, is at least this bright
EDGE_GAP = 0.03  # IOD: how far outside the rim that is looked for (a sharp edge: within a few pixels)
THICK = (0.035, 0.16)  # IOD: a rim's thickness
COVER = 0.6  # share of each eye's width where a rim must be seen
SMOOTH = 0.015  # IOD: largest RMS departure of a rim's lower edge from a smooth curve
SEARCH_ABOVE = 0.1  # IOD above the highest brow point that is searched
LID_MARGIN = 0.02  # IOD kept clear above the upper lids (the lash line is dark and sharp too)
TRACK_DARK = 0.45  # past the surely-seen part a rim is followed through pixels this dark
TRACK_MISS = 0.08  # IOD: columns without dark pixels (a highlight) a followed rim may skip
TRACK_LONGEST = 0.3  # IOD: how far past its surely-seen part a rim is followed at most
TRACK_DROP = 0.2  # IOD: how far below its surely-seen part a followed rim may curve (toward the hinge)
HINGE = 0.08  # IOD: each rim's outer end is covered whole over this length, and as far past it
HALF_WIDTH = 1.25  # IOD: the search reaches this far either side of the eyes' midpoint (the hinges)
BRIDGE_DEPTH = 0.06  # IOD: the bridge reaches this far below the rims' lower edge
HINGE_HOLD = 0.2  # IOD: at the hinges the brows' motion is held back up to this far above the rims' lower edge
FLOOR_BEYOND = 0.1  # IOD: past the rims' ends the frame (hinges) still holds the brows' motion back
FLOOR_EASE = 0.05  # IOD: above the rims' lower edge the brows' motion eases in over this
PAD = 2  # pixels around the rim replaced in the warp source and pasted back (its soft edge)
ANCHORS = [33, 133, 263, 362, 168, 6, 70, 300, 107, 336]  # eye corners, nose bridge, brows: the head's motion around the rims
EYE_CLEAR = 0.02  # IOD kept clear of the frame around each eye opening
UPPER_LIDS = [i for _, upper, _ in EYE_CONTOURS.values() for i in upper]
UPPER_BROWS = (F.RIGHT_BROW[:5], F.LEFT_BROW[:5])  # each brow's upper edge, outer end first
BROW_CLEAR = 0.03  # IOD above a brow's upper edge where the forehead's skin is sampled


@dataclass
class Rims:
    """The rims in a face-aligned crop (columns along the eye axis, rows down the face)."""

    top: np.ndarray  # (W,) first rim row per column, NaN where there is no rim
    bottom: np.ndarray  # (W,) last rim row per column
    to_image: np.ndarray  # 2x3 affine from crop (column, row) to frame pixels
    size: tuple[int, int]  # crop (W, H)
    bridge: tuple[int, int] = (0, -1)  # crop columns between the two rims: the bridge, held and pasted like them
    hinges: tuple[float, float] = (0.0, 0.0)  # crop columns past which (outward) the rims' ends are the hinges
    ceiling: np.ndarray | None = None  # (W,) row above the brows (the forehead's skin), NaN outside them


def _crop_frame(points: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(to_image affine, u, v, crop origin in face units): crop columns run along the eye axis, one pixel each."""
    r = points[list(F.RIGHT_EYE_CORNERS)].mean(0)
    ll = points[list(F.LEFT_EYE_CORNERS)].mean(0)
    u = (ll - r) / max(1e-6, float(np.linalg.norm(ll - r)))
    v = np.array([-u[1], u[0]])
    origin = 0.5 * (r + ll) - HALF_WIDTH * iod * u - 0.7 * iod * v
    return np.column_stack([u, v, origin]), u, v, origin


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Runs, with those at most ``gap`` apart joined."""
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out and a - out[-1][1] - 1 <= gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def find_rims(image: np.ndarray, points: np.ndarray, iod: float) -> Rims | None:
    """The top rims of dark-framed glasses, or None when the photo shows none (``points``: the face mesh, frame pixels)."""
    import cv2

    p = np.asarray(points, dtype=np.float64)[:, :2]
    to_image, u, v, origin = _crop_frame(p, iod)
    w, h = int(round(2 * HALF_WIDTH * iod)), int(round(0.85 * iod))
    if w < 20 or h < 10:
        return None
    crop = cv2.warpAffine(image, to_image, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    lum = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    local = np.column_stack([(p - origin) @ u, (p - origin) @ v])
    skin = float(np.percentile(lum, 75))  # the skin dominates the crop
    if skin < 40:
        return None
    top_row = max(0, int(local[F.RIGHT_BROW + F.LEFT_BROW, 1].min() - SEARCH_ABOVE * iod))
    lids = local[UPPER_LIDS + [33, 133, 263, 362]]
    order = np.argsort(lids[:, 0])
    lid_row = np.interp(np.arange(w), lids[order, 0], lids[order, 1]) - LID_MARGIN * iod
    gap = max(2, int(round(EDGE_GAP * iod)))
    lo_t, hi_t = THICK[0] * iod, THICK[1] * iod
    top = np.full(w, np.nan)
    bottom = np.full(w, np.nan)
    for x in range(w):
        y1 = int(min(h, lid_row[x]))
        if y1 - top_row < 4:
            continue
        col = lum[:, x]
        dark = col[top_row:y1] < DARK * skin
        best = None
        for a, b in _merge(_runs(dark), gap):  # a highlight can split a rim in two
            a, b = a + top_row, b + top_row
            if not lo_t <= b - a + 1 <= hi_t:
                continue
            above, below = col[max(0, a - gap)], col[min(h - 1, b + gap)]
            if above >= EDGE * skin and below >= EDGE * skin and (best is None or b - a > best[1] - best[0]):
                best = (a, b)
        if best is not None:
            top[x], bottom[x] = best
    for corners in (F.RIGHT_EYE_CORNERS, F.LEFT_EYE_CORNERS):
        xa, xb = sorted(int(round(local[c, 0])) for c in corners)
        span = np.arange(max(0, xa), min(w, xb + 1))
        seen = span[np.isfinite(bottom[span])]
        if len(span) == 0 or len(seen) < COVER * len(span):
            return None
        fit = np.polyval(np.polyfit(seen, bottom[seen], 2), seen)
        if np.sqrt(np.mean((bottom[seen] - fit) ** 2)) > SMOOTH * iod:
            return None
    top, bottom = _close_gaps(top, bottom, int(0.12 * iod))
    _follow_ends(top, bottom, lum < TRACK_DARK * skin, hi_t, int(round(TRACK_MISS * iod)), TRACK_DROP * iod, int(round(TRACK_LONGEST * iod)))
    _cover_hinges(top, bottom, w / 2.0, int(round(HINGE * iod)))
    bridge = _add_bridge(top, bottom, w / 2.0, BRIDGE_DEPTH * iod)
    corners = local[[33, 133, 263, 362], 0]
    logger.info("glasses: dark rims found over %d of %d columns", int(np.isfinite(top).sum()), w)
    return Rims(top=top, bottom=bottom, to_image=to_image, size=(w, h), bridge=bridge,
                hinges=(float(corners.min()), float(corners.max())), ceiling=_ceiling(local, w, iod))


def _ceiling(local: np.ndarray, w: int, iod: float) -> np.ndarray:
    """Per crop column, the row just above the brows (NaN where no brow is)."""
    ceiling = np.full(w, np.nan)
    for ids in UPPER_BROWS:
        edge = local[ids]
        edge = edge[np.argsort(edge[:, 0])]
        cols = np.arange(max(0, int(np.ceil(edge[0, 0]))), min(w, int(np.floor(edge[-1, 0])) + 1))
        ceiling[cols] = np.interp(cols, edge[:, 0], edge[:, 1]) - BROW_CLEAR * iod
    return ceiling


def _add_bridge(top: np.ndarray, bottom: np.ndarray, middle: float, depth: float) -> tuple[int, int]:
    """Join the two rims across the nose (in place): the bridge runs from one rim's inner end to the
    other's, from their upper edge to ``depth`` below their lower edge. Returns its columns."""
    runs = _runs(np.isfinite(top))
    left = [r for r in runs if r[1] < middle]
    right = [r for r in runs if r[0] > middle]
    if not left or not right:
        return (0, -1)
    a, b = left[-1][1], right[0][0]
    cols = np.arange(a + 1, b)
    top[cols] = np.interp(cols, [a, b], [top[a], top[b]])
    bottom[cols] = np.interp(cols, [a, b], [bottom[a], bottom[b]]) + depth
    return (a + 1, b - 1)


def _close_gaps(top: np.ndarray, bottom: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate across short gaps (highlights on the rim), and keep only the two longest stretches (one rim per eye)."""
    seen = np.isfinite(top)
    idx = np.flatnonzero(seen)
    top, bottom = top.copy(), bottom.copy()
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= longest:
            xs = np.arange(a + 1, b)
            top[xs] = np.interp(xs, [a, b], [top[a], top[b]])
            bottom[xs] = np.interp(xs, [a, b], [bottom[a], bottom[b]])
    runs = sorted(_runs(np.isfinite(top)), key=lambda r: r[1] - r[0], reverse=True)
    keep = np.zeros(len(top), bool)
    for a, b in runs[:2]:
        keep[a:b + 1] = True
    top[~keep] = np.nan
    bottom[~keep] = np.nan
    return top, bottom


def _follow_ends(top: np.ndarray, bottom: np.ndarray, dark: np.ndarray, thickest: float, misses: int, drop: float, longest: int) -> None:
    """Follow each rim past where it was surely seen (in place): its ends thin, curve down to the
    hinges and carry highlights. Each next column takes the dark pixels next to the last ones."""
    h, w = dark.shape
    for a, b in _runs(np.isfinite(top)):
        for start, step in ((a, -1), (b, 1)):
            t, bt, base, ceiling = top[start], bottom[start], bottom[start], top[start] - 2
            x, missed, last = start + step, 0, start
            while 0 <= x < w and missed <= misses and np.isnan(top[x]) and abs(x - start) <= longest:
                lo, hi = max(0, int(max(t - 2, ceiling))), min(h, int(bt) + 4)  # a rim never climbs (hair does)
                rows = lo + np.flatnonzero(dark[lo:hi, x])
                if len(rows) >= 2 and rows[-1] - base <= drop:
                    t, bt = float(rows[0]), float(min(rows[-1], rows[0] + 1.5 * thickest))
                    top[x], bottom[x] = t, bt
                    if missed:  # bridge the columns lost to a highlight
                        xs = np.arange(min(last, x) + 1, max(last, x))
                        top[xs] = np.interp(xs, [last, x], [top[last], t])
                        bottom[xs] = np.interp(xs, [last, x], [bottom[last], bt])
                    missed, last = 0, x
                else:
                    missed += 1
                x += step


def _cover_hinges(top: np.ndarray, bottom: np.ndarray, middle: float, length: int) -> None:
    """Widen each rim's outer end (in place): over its last ``length`` columns, and as far again past
    them, from a little above the highest rim row seen near it to the lowest (the hinge's ornaments
    and highlights, which split the dark band)."""
    w = len(top)
    for a, b in _runs(np.isfinite(top)):
        end, step = (a, -1) if abs(a - middle) > abs(b - middle) else (b, 1)
        near = np.arange(end, end - step * 3 * length, -step)
        near = near[(near >= a) & (near <= b)]
        hi, lo = np.nanmin(top[near]) - 0.25 * length, np.nanmax(bottom[near[:length]])
        cols = np.arange(end - step * (length - 1), end + step * (length + 1), step)
        cols = cols[(cols >= 0) & (cols < w)]
        top[cols] = np.fmin(top[cols], hi) if np.isfinite(top[cols]).all() else np.where(np.isfinite(top[cols]), np.fmin(top[cols], hi), hi)
        bottom[cols] = np.where(np.isfinite(bottom[cols]), np.fmax(bottom[cols], lo), lo)


def rim_mask(rims: Rims, pad: int = PAD) -> np.ndarray:
    """(H, W) uint8 crop mask of the rims, ``pad`` pixels wider on each side."""
    w, h = rims.size
    rows = np.arange(h)[:, None]
    ok = np.isfinite(rims.top)
    top = np.where(ok, rims.top, h + 1)[None, :]
    bottom = np.where(ok, rims.bottom, -1)[None, :]
    return ((rows >= top - pad) & (rows <= bottom + pad)).astype(np.uint8) * 255


def _fill_from_above(crop: np.ndarray, rims: Rims, pad: int) -> np.ndarray:
    """The crop with each rim column replaced by skin from above it, mirrored down (a raised brow uncovers it).

    Under a brow that skin is the forehead's above the brow: the brow's own hairs,
    mirrored into the gap, would show as a dark smear once the brow rises.
    """
    out = crop.copy()
    h = crop.shape[0]
    ceiling = rims.ceiling if rims.ceiling is not None else np.full(len(rims.top), np.nan)
    for x in np.flatnonzero(np.isfinite(rims.top)):
        a = int(rims.top[x]) - pad
        b = int(rims.bottom[x]) + pad
        mirror = min(a, int(ceiling[x])) if np.isfinite(ceiling[x]) else a
        if mirror < 1:
            continue
        rows = np.arange(max(0, a), min(h, b + 1))
        src = np.clip(2 * mirror - 1 - (rows - a + mirror), 0, h - 1)
        out[rows, x] = crop[src, x]
    return out


class RimPainter:
    """Keeps a photo's glasses rigid (see the module doc); ``found`` is False, and it does nothing, without them."""

    def __init__(self, base: np.ndarray, points: np.ndarray, iod: float):
        import cv2

        self.rims = find_rims(base, points, iod)
        self.source = base
        if self.rims is None:
            return
        rims = self.rims
        w, h = rims.size
        crop = cv2.warpAffine(base, rims.to_image, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        filled = _fill_from_above(crop, rims, PAD)
        hi, wi = base.shape[:2]
        inside = cv2.warpAffine(np.full((h, w), 255, np.uint8), rims.to_image, (wi, hi), flags=cv2.INTER_NEAREST)
        back = cv2.warpAffine(filled, rims.to_image, (wi, hi), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        hole = cv2.warpAffine(rim_mask(rims, PAD + 1), rims.to_image, (wi, hi), flags=cv2.INTER_LINEAR)
        # The eyes always animate (lids, gaze): nothing of the frame is held over them ...
        eyes = np.zeros((hi, wi), np.uint8)
        p = np.asarray(points, dtype=np.float64)[:, :2]
        for name in EYE_CONTOURS:
            cv2.fillPoly(eyes, [np.round(p[contour_ids(name)]).astype(np.int32)], 255)
        k = 2 * max(1, int(round(EYE_CLEAR * iod))) + 1
        # ... and only inside the face oval, where the warp carries everything with the head as the rims are.
        oval = np.zeros((hi, wi), np.uint8)
        cv2.fillPoly(oval, [np.round(p[F.FACE_OVAL]).astype(np.int32)], 255)
        clear = (cv2.dilate(eyes, np.ones((k, k), np.uint8)) == 0) & (cv2.erode(oval, np.ones((k, k), np.uint8)) > 0)
        hole = (hole > 0) & (cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0) & clear
        self.source = base.copy()
        self.source[hole] = back[hole]
        # The rims as a sprite with a soft edge, in frame pixels.
        alpha = cv2.warpAffine(rim_mask(rims, PAD), rims.to_image, (wi, hi), flags=cv2.INTER_LINEAR)
        alpha = cv2.GaussianBlur(alpha * clear.astype(np.uint8), (3, 3), 0)
        ys, xs = np.nonzero(alpha)
        if len(ys) == 0:  # nothing of it left to hold (all outside the face or over the eyes)
            self.rims, self.source = None, base
            return
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        self.origin = np.array([x0, y0], np.float64)
        self.sprite = np.dstack([base[y0:y1, x0:x1].astype(np.float32), alpha[y0:y1, x0:x1].astype(np.float32) / 255.0])
        rest = np.asarray(points, dtype=np.float64)[ANCHORS, :2]
        self.fit = np.linalg.pinv(np.hstack([rest, np.ones((len(rest), 1))]))

    @property
    def found(self) -> bool:
        return self.rims is not None

    def brow_limits(self, points: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Behind rigid rims the brows move the skin above the rims' lower edge, never the lenses below it.

        ``(reach, room, reach_up)``, (N,) each: ``reach`` is 1 where the brows' motion may reach a mesh
        point, easing to 0 below the rims' (and bridge's) lower edge; past the eyes' outer corners (the
        hinges, whose ends can rise above the rims) it is held back higher up as well. ``room`` is how far
        (pixels, down the face) a point may be lowered before it would pass below that edge (inf off the
        rims). ``reach_up`` is ``reach`` for raised brows, except behind the lenses: there they lift the
        upper lid skin as on a face without glasses, so the skin that slides out from behind the rims is
        carried rather than stretched (lowered brows slip behind the rims instead).
        """
        p = np.asarray(points, dtype=np.float64)[:, :2]
        n = len(p)
        if self.rims is None:
            return np.ones(n), np.full(n, np.inf), np.ones(n)
        rims = self.rims
        inv = np.linalg.inv(np.vstack([rims.to_image, [0.0, 0.0, 1.0]]))[:2]
        local = p @ inv[:, :2].T + inv[:, 2]  # crop (column, row); rows run down the face, one pixel each
        cols = np.flatnonzero(np.isfinite(rims.bottom))
        floor = np.interp(local[:, 0], cols, rims.bottom[cols])
        on = (local[:, 0] >= cols[0] - FLOOR_BEYOND * iod) & (local[:, 0] <= cols[-1] + FLOOR_BEYOND * iod)
        hinge = (local[:, 0] < rims.hinges[0]) | (local[:, 0] > rims.hinges[1])
        line = np.where(hinge, floor - HINGE_HOLD * iod, floor)
        reach, room, reach_up = np.ones(n), np.full(n, np.inf), np.ones(n)
        reach[on] = np.clip((line[on] - local[on, 1]) / max(1.0, FLOOR_EASE * iod), 0.0, 1.0)
        room[on] = np.maximum(floor[on] - local[on, 1], 0.0)
        bridge = (local[:, 0] >= rims.bridge[0]) & (local[:, 0] <= rims.bridge[1])
        lenses = on & ~hinge & ~bridge
        reach_up[on] = reach[on]
        reach_up[lenses] = 1.0
        return reach, room, reach_up

    def paint(self, roi: np.ndarray, origin: tuple[int, int], carried: np.ndarray) -> None:
        """Paste the rims into ``roi`` (in place), moved by the head alone (``carried``: the mesh moved only by the head)."""
        if self.rims is None:
            return
        motion = (self.fit @ np.asarray(carried, dtype=np.float64)[ANCHORS]).T  # rest frame pixels -> now
        carried_rims = carry_sprite(self.sprite, self.origin, motion, origin, roi.shape, pad=1)
        if carried_rims is None:
            return
        moved, (x0, y0, x1, y1) = carried_rims
        a = moved[..., 3:4]
        region = roi[y0:y1, x0:x1].astype(np.float32)
        roi[y0:y1, x0:x1] = np.clip(region * (1 - a) + moved[..., :3] * a, 0, 255).astype(np.uint8)
