"""Eyes that look around: a gaze plan (saccades, fixational drift, blinks) and the painter that moves the irises.

Gaze is in eye widths: x along the face's left-to-right axis, y down. The
painter keeps, per eye, the photo's eye with its iris filled in by the sclera
around it (a "plate") and the iris itself as a round sprite (its hidden part,
under the lids, completed by mirroring). Each frame it paints the plate and
the iris at its new place inside the eye opening, both carried by the eye's
own affine motion (head turn, roll, slide), and clipped to the current lids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline.engines.native.roi import box_around

logger = logging.getLogger(__name__)

# Eye contours: corner, upper lid (7), other corner, lower lid (7) in the same direction as animate.EYES.
EYE_CONTOURS = {
    "right": ((33, 133), [246, 161, 160, 159, 158, 157, 173], [7, 163, 144, 145, 153, 154, 155]),
    "left": ((263, 362), [466, 388, 387, 386, 385, 384, 398], [249, 390, 373, 374, 380, 381, 382]),
}
IRIS = {"right": (468, [469, 470, 471, 472]), "left": (473, [474, 475, 476, 477])}

SACCADE_S = 0.04  # a conversational saccade takes 30-60 ms
FIXATION_S = (1.0, 4.0)  # time between saccades
BLINK_COUPLING = 0.6  # share of saccades moved onto a nearby blink
SHIFT_RANGE = (0.08, 0.14)  # how far a look-away goes (eye widths)
MIN_JUMP = 0.075  # a saccade moves at least this far
LASH = 0.06  # the upper lash line's thickness inside the eye opening, eye widths
DRIFT = 0.007  # fixational drift amplitude (eye widths)


def contour_ids(name: str) -> list[int]:
    """The closed eye-opening polygon: corner, upper lid, other corner, lower lid reversed."""
    (c0, c1), upper, lower = EYE_CONTOURS[name]
    return [c0] + upper + [c1] + lower[::-1]


def _blink_peaks(blink: np.ndarray) -> list[int]:
    closed = np.flatnonzero(blink >= 0.99)
    if len(closed) == 0:
        return []
    starts = closed[np.insert(np.diff(closed) > 1, 0, True)]
    return [int(s) for s in starts]


def plan_gaze(frame_count: int, fps: float, blink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) gaze offsets in eye widths: fixations 1-4 s apart, often at a blink, with drift between."""
    n = frame_count
    gaze = np.zeros((n, 2))
    if n == 0:
        return gaze
    peaks = _blink_peaks(np.asarray(blink)[:n])
    events: list[tuple[int, np.ndarray]] = []
    current = np.zeros(2)
    t = rng.uniform(0.4, 1.5)
    while t * fps < n:
        frame = int(t * fps)
        ahead = [b for b in peaks if 0 <= b - frame <= 0.8 * fps]
        if ahead and rng.random() < BLINK_COUPLING:
            frame = ahead[0]  # the eyes move while the lids are shut
        for _ in range(8):
            if np.linalg.norm(current) > 0.05 and rng.random() < 0.55:
                target = rng.normal(0.0, 0.015, 2)  # back toward the listener
            else:
                angle = rng.uniform(0, 2 * np.pi)
                radius = rng.uniform(*SHIFT_RANGE)
                target = np.array([radius * np.cos(angle), 0.5 * radius * np.sin(angle)])
            if np.linalg.norm(target - current) >= MIN_JUMP:
                break
        events.append((frame, target))
        current = target
        t = frame / fps + rng.uniform(*FIXATION_S)
    steps = max(1, int(round(SACCADE_S * fps)))
    idx = np.arange(n)
    for frame, target in events:
        s = np.clip((idx - frame + 1) / steps, 0.0, 1.0)[:, None]
        gaze = gaze + (target - gaze) * s
    # Fixational drift: slow, tiny, zero-mean.
    tt = idx / float(fps)
    for axis in range(2):
        for f in (0.3, 0.7):
            gaze[:, axis] += DRIFT * 0.5 * np.sin(2 * np.pi * f * rng.uniform(0.8, 1.2) * tt + rng.uniform(0, 2 * np.pi))
    return gaze


@dataclass
class _Eye:
    ids: list[int]
    rest: np.ndarray  # (16, 2) contour at rest, frame pixels
    plate: np.ndarray  # (h, w, 3) float32: the eye region with the iris filled by sclera
    plate_wide: np.ndarray  # the same without the upper lash line, for a raised lid (the lid's own lash goes up with it)
    plate_origin: np.ndarray  # frame pixels of plate[0, 0]
    sprite: np.ndarray  # (s, s, 4) float32: iris BGR and alpha
    sprite_origin: np.ndarray  # frame pixels of sprite[0, 0] at rest
    width: float  # corner to corner, pixels
    axis_u: np.ndarray
    axis_v: np.ndarray
    fit: np.ndarray  # (3, 16) least-squares solver of the affine taking ``rest`` to a moved contour


def _fill_rows(plate: np.ndarray, hole: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill ``hole`` pixels row by row, interpolating between the nearest ``known`` pixels either side."""
    import cv2

    out = plate.copy()
    left_over = np.zeros(hole.shape, np.uint8)
    for y in np.flatnonzero(hole.any(axis=1)):
        xs = np.flatnonzero(hole[y])
        ok = np.flatnonzero(known[y] & ~hole[y])
        lo, hi = ok[ok < xs.min()], ok[ok > xs.max()]
        if len(lo) and len(hi):
            a, b = out[y, lo[-1]].astype(np.float32), out[y, hi[0]].astype(np.float32)
            f = ((xs - lo[-1]) / float(hi[0] - lo[-1]))[:, None]
            out[y, xs] = np.clip(a * (1 - f) + b * f, 0, 255).astype(out.dtype)
        elif len(lo) or len(hi):
            out[y, xs] = out[y, lo[-1] if len(lo) else hi[0]]
        else:
            left_over[y, xs] = 255
    if left_over.any():
        out = cv2.inpaint(out, left_over, 2, cv2.INPAINT_TELEA)
    return out


def _extend_eyeball(plate: np.ndarray, opening: np.ndarray, iris: np.ndarray, lash: int = 0) -> np.ndarray:
    """Continue the eyeball above and below the opening (the lids hide it in the photo; a widened
    eye shows it): the photo's own sclera colour, shadowed under the lids. Inside the opening
    the photo is kept, but for its top ``lash`` rows (the lash line: a raised lid takes it along)."""
    import cv2

    inside = opening > 0
    clean = (cv2.erode(opening, np.ones((5, 5), np.uint8)) > 0) & ~iris  # clear of lashes and iris
    if clean.sum() < 4:
        return plate
    sclera = np.median(plate[clean].astype(np.float32), axis=0)
    out = plate.copy()
    for x in np.flatnonzero(inside.any(axis=0)):
        edge = np.flatnonzero(inside[:, x])
        out[:edge[0], x] = (sclera * 0.78).astype(plate.dtype)
        if lash:  # (the iris sprite is painted over this plate; under the lashes it is sclera too)
            out[edge[0]:edge[0] + lash, x] = (sclera * 0.9).astype(plate.dtype)
        out[edge[-1] + 1:, x] = (sclera * 0.88).astype(plate.dtype)
    return out


def _build_eye(base: np.ndarray, points: np.ndarray, name: str) -> _Eye | None:
    import cv2

    ids = contour_ids(name)
    rest = points[ids].astype(np.float64)
    centre_id, ring_ids = IRIS[name]
    centre = points[centre_id].astype(np.float64)
    radius = float(np.max(np.linalg.norm(points[ring_ids] - centre, axis=1)))
    (c0, c1), _, _ = EYE_CONTOURS[name]
    width = float(np.linalg.norm(points[c1] - points[c0]))
    if radius < 1.0 or width < 4.0:
        return None
    h, w = base.shape[:2]
    pad = int(np.ceil(radius)) + 4
    x0, y0 = np.floor(rest.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(rest.max(axis=0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    plate = base[y0:y1, x0:x1].copy()
    local = rest - (x0, y0)
    opening = np.zeros(plate.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(local * 4).astype(np.int32)], 255, cv2.LINE_8, 2)
    near = cv2.dilate(opening, np.ones((5, 5), np.uint8))
    disk = np.zeros_like(opening)
    c_local = centre - (x0, y0)
    cv2.circle(disk, (int(round(c_local[0] * 4)), int(round(c_local[1] * 4))), int(round((radius + 1.5) * 4)), 255, -1, cv2.LINE_8, 2)
    hole = (disk > 0) & (near > 0)
    filled = _fill_rows(plate, hole, opening > 0)
    plate = _extend_eyeball(filled, opening, disk > 0)
    plate_wide = _extend_eyeball(filled, opening, disk > 0, lash=max(2, int(round(LASH * width))))

    # The iris sprite: the photo's iris, its parts hidden by the lids mirrored from the visible ones.
    r_out = radius * 1.12
    half = int(np.ceil(r_out)) + 2
    size = 2 * half + 1
    sx0, sy0 = int(round(centre[0])) - half, int(round(centre[1])) - half
    patch = cv2.getRectSubPix(base, (size, size), (float(sx0 + half), float(sy0 + half))).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = centre[0] - sx0, centre[1] - sy0
    dist = np.hypot(xx - cx, yy - cy)
    alpha = np.clip(radius + 0.5 - dist, 0.0, 1.0)
    vis_mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(vis_mask, [np.round((rest - (sx0, sy0)) * 4).astype(np.int32)], 255, cv2.LINE_8, 2)
    vis_mask = cv2.erode(vis_mask, np.ones((3, 3), np.uint8)) > 0
    # The rows just under the upper lid carry its lashes' shadow: a raised lid would leave them on the iris.
    upper = rest[:9] - (sx0, sy0)  # corner, upper lid, corner
    order = np.argsort(upper[:, 0])
    lid_y = np.interp(xx[0], upper[order, 0], upper[order, 1])
    vis_mask &= yy >= lid_y[None, :] + LASH * width
    inside = dist <= radius
    seen = vis_mask & inside
    if seen.sum() < 6:
        return None
    mean_colour = patch[seen].mean(axis=0)
    mirror_y = np.clip(np.round(2 * cy - yy).astype(int), 0, size - 1)
    mirror_ok = seen[mirror_y, xx.astype(int)]
    hidden = inside & ~seen
    patch[hidden & mirror_ok] = patch[mirror_y, xx.astype(int)][hidden & mirror_ok]
    patch[hidden & ~mirror_ok] = mean_colour
    sprite = np.dstack([patch, alpha]).astype(np.float32)
    u = (points[c1] - points[c0]) / width
    if name == "left":
        u = -u  # both eyes' axes point image-right
    return _Eye(ids=ids, rest=rest, plate=plate.astype(np.float32), plate_wide=plate_wide.astype(np.float32), plate_origin=np.array([x0, y0], np.float64), sprite=sprite,
                sprite_origin=np.array([sx0, sy0], np.float64), width=width, axis_u=u, axis_v=np.array([-u[1], u[0]]),
                fit=np.linalg.pinv(np.hstack([rest, np.ones((len(rest), 1))])))


def _compose(m: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The affine ``m`` applied after a translation by ``shift``."""
    out = m.copy()
    out[:, 2] = m[:, :2] @ shift + m[:, 2]
    return out


def _follow_lids(plate: np.ndarray, carried: np.ndarray, lids: np.ndarray) -> np.ndarray:
    """The eye stretched column by column so the photo's lid margins sit on the lids now (box pixels;
    ``carried``/``lids``: the contour moved by the head alone / now). Above the eye's middle a raised
    lid stretches the white and the lash line up to it, a lowered one brings the lash line down;
    below it, the lower margin follows its lid (the lids follow the gaze). Without this the margins
    stay behind, and the band between them and the lids shows the eyeball's extension: light lines."""
    import cv2

    h, w = plate.shape[:2]
    xs = np.arange(w, dtype=np.float32)

    def along(points: np.ndarray) -> np.ndarray:
        order = np.argsort(points[:, 0])
        return np.interp(xs, points[order, 0], points[order, 1]).astype(np.float32)

    top0, top1 = along(carried[:9]), along(lids[:9])  # corner, upper lid, corner
    low0 = along(np.concatenate([carried[8:], carried[:1]]))  # corner, lower lid, corner
    low1 = along(np.concatenate([lids[8:], lids[:1]]))
    middle = 0.5 * (top0 + low0)
    up = np.clip((middle - top0) / np.maximum(middle - top1, 1e-3), 0.2, 2.0)  # source rows per output row
    down = np.clip((low0 - middle) / np.maximum(low1 - middle, 1e-3), 0.5, 2.0)
    ys = np.arange(h, dtype=np.float32)[:, None]
    map_y = np.where(ys < middle, middle + (ys - middle) * up, middle + (ys - middle) * down).astype(np.float32)
    map_x = np.broadcast_to(xs, (h, w)).astype(np.float32)
    return cv2.remap(plate, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class EyePainter:
    """Moves the irises of one face; built once per job from the photo and its 478-point mesh."""

    def __init__(self, base: np.ndarray, points: np.ndarray):
        self.eyes: dict[str, _Eye] = {}
        if len(points) < 478:
            return
        for name in EYE_CONTOURS:
            eye = _build_eye(base, np.asarray(points, dtype=np.float64), name)
            if eye is not None:
                self.eyes[name] = eye

    def paint(self, roi: np.ndarray, origin: tuple[int, int], name: str, lids: np.ndarray, carried: np.ndarray, gaze: np.ndarray) -> None:
        """Paint one eye into ``roi`` (in place).

        ``lids``: the eye-opening polygon now (after lid motion); ``carried``: the
        same contour moved only with the head (the eyeball's motion); ``gaze``: (x, y) eye widths.
        """
        import cv2

        eye = self.eyes.get(name)
        if eye is None:
            return
        ox, oy = origin
        both = np.concatenate([lids, carried])
        x0, y0, x1, y1 = box_around(both, origin, roi.shape, pad=2)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        w, h = x1 - x0, y1 - y0
        box = np.array([ox + x0, oy + y0], np.float64)
        motion = (eye.fit @ carried).T  # least-squares affine: rest frame pixels -> frame pixels now
        to_box = motion.copy()
        to_box[:, 2] -= box
        raised = float(np.max((carried[1:8] - lids[1:8]) @ eye.axis_v))  # the upper lid above where the head carries it
        src = eye.plate
        if raised > 0.1:
            share = min(1.0, raised / max(1.0, LASH * eye.width))  # eased in: no jump as the lid starts to rise
            src = eye.plate_wide if share >= 1.0 else cv2.addWeighted(eye.plate, 1.0 - share, eye.plate_wide, share, 0.0)
        plate = cv2.warpAffine(src, _compose(to_box, eye.plate_origin), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if float(np.max(np.abs((lids - carried) @ eye.axis_v))) > 0.25:
            plate = _follow_lids(plate, carried - box, lids - box)
        shift = eye.sprite_origin + gaze[0] * eye.width * eye.axis_u + gaze[1] * eye.width * eye.axis_v
        iris = cv2.warpAffine(eye.sprite, _compose(to_box, shift), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        opening = np.zeros((h, w), np.uint8)
        cv2.fillPoly(opening, [np.round((lids - box) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        o = opening.astype(np.float32) / 255.0
        # Only the opening is repainted: a ring past it would lay the eyeball's extension (sclera) over the lash line.
        cover = o[..., None]
        ia = (iris[..., 3] * o)[..., None]
        eye_rgb = plate * (1 - ia) + iris[..., :3] * ia
        region = roi[y0:y1, x0:x1].astype(np.float32)
        roi[y0:y1, x0:x1] = np.clip(region * (1 - cover) + eye_rgb * cover, 0, 255).astype(np.uint8)
