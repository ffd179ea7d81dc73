"""Per-frame face animation of the native engine.

A ``FaceRig`` is built once from the face mesh (in output-frame pixels): the
face's own axes (roll), unit length (inter-ocular distance), lip/lid pairs and
the weights that spread driver motion (lips, lids, brows, jaw) to the rest of
the mesh. ``displace_points`` turns one frame's mouth parameters and life
signals into new mesh positions; ``FaceAnimator`` warps the face region to them
and paints the mouth interior.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from generation.pipeline import face as F
from generation.pipeline.engines.native import motion, mouth, warp
from generation.pipeline.engines.native import shade as mouth_shade
from generation.pipeline.types import FaceAnalysis, MouthParams

logger = logging.getLogger(__name__)

UP_IN = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LO_IN = [95, 88, 178, 87, 14, 317, 402, 318, 324]
UP_OUT = [185, 40, 39, 37, 0, 267, 269, 270, 409]
LO_OUT = [146, 91, 181, 84, 17, 314, 405, 321, 375]
CORNERS_IN, CORNERS_OUT = (78, 308), (61, 291)  # (image left, image right)
EYES = {  # corners, upper lid (corner to corner), lower lid (same direction)
    "right": ((33, 133), [246, 161, 160, 159, 158, 157, 173], [7, 163, 144, 145, 153, 154, 155]),
    "left": ((263, 362), [466, 388, 387, 386, 385, 384, 398], [249, 390, 373, 374, 380, 381, 382]),
}
LIP_PUSH = 0.035  # inner-lip control points sit this far (IOD units) inside the lips


@dataclass
class FaceRig:
    rest: np.ndarray  # (468, 2) mesh in output pixels
    iod: float
    u: np.ndarray  # face left-to-right unit axis (image x when upright)
    v: np.ndarray  # face top-to-bottom unit axis
    mouth_centre: np.ndarray
    lip_gap: np.ndarray  # (9,) source inner-lip gap along v, pixels
    lip_profile: np.ndarray  # (9,) 0 at the corners, 1 at the middle
    lip_u: np.ndarray  # (9,) signed offset along u from the mouth centre
    half_width: float
    lid_gap: dict = field(default_factory=dict)  # eye -> (7,) upper-to-lower lid along v
    brow_inner: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (20,) 0 outer .. 1 inner
    brow_ids: list = field(default_factory=list)
    drivers: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    others: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    jaw_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (468,) share of the jaw drop
    spread: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (others, drivers)
    pivot: np.ndarray = field(default_factory=lambda: np.zeros(2))
    lip_ring: list = field(default_factory=list)  # mesh points inside the lips (between contours)
    lip_mix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (ring, 468) weights of the contour points


def _lip_ring(p: np.ndarray, loc: np.ndarray, lips: list[int]) -> tuple[list[int], np.ndarray]:
    """Mesh points inside the lips move as a blend of their lip's inner and outer contours.

    Without this they would average upper- and lower-lip motion and fold the mesh.
    """
    import cv2

    poly = p[F.LIPS_OUTER].astype(np.float32).reshape(-1, 1, 2)
    ring = [i for i in range(len(p)) if i not in lips and cv2.pointPolygonTest(poly, (float(p[i, 0]), float(p[i, 1])), False) >= 0]
    mix = np.zeros((len(ring), len(p)))
    sides = {
        "upper": ([CORNERS_IN[0]] + UP_IN + [CORNERS_IN[1]], [CORNERS_OUT[0]] + UP_OUT + [CORNERS_OUT[1]]),
        "lower": ([CORNERS_IN[0]] + LO_IN + [CORNERS_IN[1]], [CORNERS_OUT[0]] + LO_OUT + [CORNERS_OUT[1]]),
    }
    cols_u = loc[sides["upper"][0], 0]
    mid_v = 0.5 * (loc[sides["upper"][0], 1] + loc[sides["lower"][0], 1])
    for r, i in enumerate(ring):
        u, vv = loc[i]
        side = "upper" if vv < np.interp(u, cols_u, mid_v) else "lower"
        inner, outer = sides[side]
        w = np.interp(u, cols_u, np.arange(len(cols_u)))
        j0 = int(np.clip(np.floor(w), 0, len(cols_u) - 2))
        f = float(np.clip(w - j0, 0, 1))
        v_in = (1 - f) * loc[inner[j0], 1] + f * loc[inner[j0 + 1], 1]
        v_out = (1 - f) * loc[outer[j0], 1] + f * loc[outer[j0 + 1], 1]
        t = float(np.clip((vv - v_in) / (v_out - v_in), 0, 1)) if abs(v_out - v_in) > 1e-6 else 0.5
        for ids, share in ((inner, 1 - t), (outer, t)):
            mix[r, ids[j0]] += share * (1 - f)
            mix[r, ids[j0 + 1]] += share * f
    return ring, mix


def _to_face(rig_u: np.ndarray, rig_v: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.stack([d @ rig_u, d @ rig_v], axis=-1)


def build_rig(points: np.ndarray) -> FaceRig:
    """Everything about the face that stays fixed for a job."""
    p = points[: warp.MESH_POINTS, :2].astype(np.float64)
    iod = F.inter_ocular_distance(p)
    r_eye = p[list(F.RIGHT_EYE_CORNERS)].mean(0)
    l_eye = p[list(F.LEFT_EYE_CORNERS)].mean(0)
    u = (l_eye - r_eye) / max(1e-6, np.linalg.norm(l_eye - r_eye))
    v = np.array([-u[1], u[0]])
    mc = 0.5 * (p[CORNERS_OUT[0]] + p[CORNERS_OUT[1]])
    loc = _to_face(u, v, p - mc)
    gap = np.maximum(loc[LO_IN, 1] - loc[UP_IN, 1], 0.0)
    cu = loc[[CORNERS_IN[0], CORNERS_IN[1]], 0]
    tpos = np.clip((loc[UP_IN, 0] - cu[0]) / max(1e-6, cu[1] - cu[0]), 0, 1)
    profile = np.sin(np.pi * tpos) ** 0.7
    lid_gap = {}
    for name, (_, upper, lower) in EYES.items():
        lid_gap[name] = np.maximum(loc[lower, 1] - loc[upper, 1], 0.0)
    brow_ids = F.RIGHT_BROW + F.LEFT_BROW
    mid_u = loc[[F.NOSE_TIP], 0][0]
    brow_abs = np.abs(loc[brow_ids, 0] - mid_u)
    brow_inner = np.clip(1 - (brow_abs - brow_abs.min()) / max(1e-6, brow_abs.max() - brow_abs.min()), 0, 1)

    lips = UP_IN + LO_IN + UP_OUT + LO_OUT + list(CORNERS_IN) + list(CORNERS_OUT)
    eyes = [i for (c, up, lo) in EYES.values() for i in list(c) + up + lo]
    lip_ring, lip_mix = _lip_ring(p, loc, lips)
    drivers = np.array(sorted(set(lips + eyes + brow_ids + lip_ring)), dtype=int)
    others = np.array([i for i in range(len(p)) if i not in set(drivers.tolist())], dtype=int)
    # Jaw: share of the drop grows from the mouth line to the chin, fading laterally.
    chin_v = max(1e-6, loc[F.CHIN, 1])
    half_face = max(1e-6, 0.5 * (loc[:, 0].max() - loc[:, 0].min()))
    jw = np.clip(loc[:, 1] / chin_v, 0, 1) ** 0.7 * np.clip(1 - (np.abs(loc[:, 0]) / (1.05 * half_face)) ** 2, 0, 1)
    # Driver motion reaches nearby points through a Gaussian kernel; lids only
    # pull points on their own side, lips only points near the mouth.
    sigma = np.full(len(drivers), 0.16 * iod)
    is_brow = np.isin(drivers, brow_ids)
    sigma[is_brow] = 0.22 * iod
    sigma[np.isin(drivers, eyes)] = 0.12 * iod
    d2 = ((p[others][:, None, :] - p[drivers][None, :, :]) ** 2).sum(-1)
    # Tails are cut (softly, so motion stays continuous): far points stay exactly
    # still, which keeps the set of triangles warped per frame small.
    k = np.clip(np.exp(-d2 / (2 * sigma[None, :] ** 2)) - 0.03, 0, None) / 0.97
    upper_lids = [i for (_, up, _) in EYES.values() for i in up]
    lower_lids = [i for (_, _, lo) in EYES.values() for i in lo]
    eye_v = 0.5 * (loc[F.RIGHT_EYE, 1].mean() + loc[F.LEFT_EYE, 1].mean())
    above_eyes = loc[others, 1] < eye_v
    k[:, np.isin(drivers, upper_lids)] *= above_eyes[:, None]
    k[:, np.isin(drivers, lower_lids)] *= ~above_eyes[:, None]
    k[:, np.isin(drivers, [c for (cc, _, _) in EYES.values() for c in cc])] = 0.0
    # Lip motion fades out above the upper lip so the nose stays put.
    lip_top = loc[UP_OUT, 1].min()
    fade = np.clip(1 - (lip_top - loc[others, 1]) / (0.15 * iod), 0, 1)
    k[:, np.isin(drivers, lips + lip_ring)] *= fade[:, None]
    spread = k / np.maximum(k.sum(1, keepdims=True), 1.0)
    pivot = mc + v * 0.9 * iod  # the neck: head motion rotates about it
    return FaceRig(rest=p, iod=iod, lip_ring=lip_ring, lip_mix=lip_mix, u=u, v=v, mouth_centre=mc, lip_gap=gap, lip_profile=profile, lip_u=loc[UP_IN, 0],
                   half_width=0.5 * float(cu[1] - cu[0]), lid_gap=lid_gap, brow_inner=brow_inner, brow_ids=brow_ids,
                   drivers=drivers, others=others, jaw_weight=jw, spread=spread, pivot=pivot)


@dataclass(frozen=True)
class Life:
    """Non-mouth state of one frame."""

    blink: float = 0.0
    smile: float = 0.0  # IOD-relative emotion offsets, already scaled
    brow_raise: float = 0.0
    brow_inner: float = 0.0
    head: np.ndarray | None = None  # 2x3 similarity applied last


def _clip(x: float, lo: float, hi: float) -> float:
    """Scalar clip (``np.clip`` on a Python float costs microseconds per call)."""
    return min(max(float(x), lo), hi)


# Index arrays built once: fancy indexing with a list converts it on every call.
_UP_IN, _LO_IN, _UP_OUT, _LO_OUT = (np.array(ids) for ids in (UP_IN, LO_IN, UP_OUT, LO_OUT))
_UPPER_INNER = np.array([CORNERS_IN[0]] + UP_IN + [CORNERS_IN[1]])  # inner-lip contours, corner to corner
_LOWER_INNER = np.array([CORNERS_IN[0]] + LO_IN + [CORNERS_IN[1]])
_EYE_IDS = {name: (np.array(up), np.array(lo)) for name, (_, up, lo) in EYES.items()}


def displace_points(rig: FaceRig, params: MouthParams, life: Life = Life(), *, with_head: bool = True) -> np.ndarray:
    """The (468, 2) mesh positions for one frame, in output pixels (``with_head=False``: before head motion)."""
    iod = rig.iod
    jaw = _clip(params.jaw_open, 0.0, 1.2)
    press = _clip(params.lip_press, 0.0, 1.0)
    width = _clip(params.lip_width, -1.0, 1.0)
    rnd = _clip(params.rounding, 0.0, 1.0)
    raise_ = _clip(params.upper_lip_raise, 0.0, 1.0)
    tuck = _clip(params.lower_lip_tuck, 0.0, 1.0)
    UP_IN, LO_IN, UP_OUT, LO_OUT = _UP_IN, _LO_IN, _UP_OUT, _LO_OUT  # noqa: N806 - same names as the module lists
    prof, g = rig.lip_profile, rig.lip_gap
    disp = np.zeros_like(rig.rest)  # (du, dv) in face axes

    # Target inner-lip gap per column, relative to the closed midline (the photo's
    # own opening, if any, is closed first: the rest state has the lips together).
    open_c = iod * (0.34 * jaw + 0.012) * (1 - press)
    gap_t = prof * open_c + rnd * 0.05 * iod * np.sqrt(prof) * (1 - press)
    gap_t = gap_t * (1 - tuck) + tuck * 0.03 * iod * prof
    close_up, close_lo = 0.45 * g, 0.55 * g
    disp[UP_IN, 1] = close_up - 0.15 * gap_t - raise_ * 0.06 * iod * prof
    disp[LO_IN, 1] = -close_lo + 0.85 * gap_t
    disp[UP_OUT, 1] = 0.4 * close_up - 0.13 * gap_t - raise_ * 0.07 * iod * prof + (press * 0.012 - rnd * 0.02) * iod * prof
    disp[LO_OUT, 1] = -0.5 * close_lo + 0.85 * gap_t + (rnd * 0.02 - press * 0.012 - tuck * 0.035) * iod * prof
    drop = 0.85 * float(gap_t.max(initial=0.0))

    # Corners: spread (EE), narrow (OO), pulled in as the jaw opens, up/out for a smile.
    smile = life.smile
    corner_du = iod * (width * 0.06 - rnd * 0.09 - jaw * 0.025 + 0.035 * max(smile, 0.0))
    corner_dv = 0.25 * drop - 0.05 * smile * iod
    for idx, sign in zip(CORNERS_IN, (-1, 1)):
        disp[idx] = (sign * corner_du, corner_dv)
    for idx, sign in zip(CORNERS_OUT, (-1, 1)):
        disp[idx] = (sign * corner_du, corner_dv)
    frac = np.clip(rig.lip_u / max(1e-6, rig.half_width), -1, 1)
    for ids in (UP_IN, LO_IN, UP_OUT, LO_OUT):
        disp[ids, 0] = np.abs(frac) * np.sign(frac) * corner_du
        disp[ids, 1] += (1 - prof) * corner_dv  # columns near a corner follow it

    disp[rig.lip_ring] = rig.lip_mix @ disp

    # Blinks: upper lid slides down to the lower lid, which rises a little.
    b = _clip(life.blink, 0.0, 1.0)
    for name, (upper, lower) in _EYE_IDS.items():
        lg = rig.lid_gap[name]
        disp[upper, 1] = b * 0.85 * lg
        disp[lower, 1] = -b * 0.15 * lg - 0.012 * iod * max(smile, 0.0)

    # Brows: raise/lower as a whole, inner ends up (sad) or down-and-in (angry).
    inner = rig.brow_inner
    disp[rig.brow_ids, 1] = -0.07 * iod * life.brow_raise - 0.06 * iod * life.brow_inner * inner
    inward = -np.sign(_to_face(rig.u, rig.v, rig.rest[rig.brow_ids] - rig.rest[F.NOSE_TIP])[:, 0])
    disp[rig.brow_ids, 0] = 0.025 * iod * min(life.brow_inner, 0.0) * -inner * inward

    # Everything else: its share of the jaw drop plus the drivers' residual motion.
    jaw_part = np.zeros_like(disp)
    jaw_part[:, 1] = drop * rig.jaw_weight
    resid = disp[rig.drivers] - jaw_part[rig.drivers]
    disp[rig.others] = jaw_part[rig.others] + rig.spread @ resid
    pts = rig.rest + disp[:, :1] * rig.u + disp[:, 1:] * rig.v
    if with_head and life.head is not None:
        pts = motion.apply_matrix(life.head, pts)
    return pts


class FaceAnimator:
    """Renders frames of one face: warp the face region, then paint the mouth interior."""

    def __init__(self, base_frame: np.ndarray, face: FaceAnalysis, *, emotion: str = "neutral", style: str = "natural",
                 expression: dict | None = None, seed: int = 0, fps: int = 25, animate_margin: float = 0.25,
                 energy_track: np.ndarray | None = None, frame_count: int = 0, life: bool = True):
        import cv2

        self.base = np.ascontiguousarray(base_frame)
        h, w = self.base.shape[:2]
        self.rig = build_rig(face.points)
        rig = self.rig
        self.fps = fps
        energy_track = np.zeros(0) if energy_track is None else np.asarray(energy_track, dtype=np.float64)
        n = max(frame_count, len(energy_track))
        self.plan = motion.plan_motion(n, fps, energy_track, emotion=emotion, style=style, seed=seed)
        self.life_enabled = life
        self.smile_damp = 1.0 - motion.source_smile(expression)

        self.box = warp.region_box(face.bbox, animate_margin, (w, h))
        bx0, by0, bx1, by1 = self.box
        src = rig.rest.copy()
        # Push never past the next ring of lip points, or the source mesh would fold.
        ring_pts = rig.rest[rig.lip_ring] if rig.lip_ring else np.zeros((0, 2))
        for ids, sign in ((UP_IN, -1.0), (LO_IN, 1.0)):
            for i in ids:
                near = np.linalg.norm(ring_pts - rig.rest[i], axis=1).min(initial=np.inf)
                src[i] += sign * min(LIP_PUSH * rig.iod, 0.6 * near) * rig.v
        # A half-moving ring between the face oval and the fixed border softens head motion.
        oval = rig.rest[F.FACE_OVAL]
        centre = oval.mean(0)
        ring = centre + (oval[::2] - centre) * 1.22
        inside = (ring[:, 0] > bx0 + 2) & (ring[:, 0] < bx1 - 3) & (ring[:, 1] > by0 + 2) & (ring[:, 1] < by1 - 3)
        self.ring = ring[inside]
        self.ring_oval = np.array(F.FACE_OVAL[::2])[inside]  # the oval point each ring point half-follows
        anchors = warp.anchor_ring(self.box)
        eye_ids = [i for (c, up, lo) in EYES.values() for i in [c[0]] + up + [c[1]] + lo]
        self.eye_dup = np.array(eye_ids, dtype=int)
        self._eye_rest = rig.rest[self.eye_dup]
        base_n = warp.MESH_POINTS
        self.n_ring = len(self.ring)
        all_src = np.concatenate([src, self.ring, anchors, rig.rest[self.eye_dup]])
        self._anchors = anchors
        skirt = warp.skirt_triangles(all_src[: base_n + self.n_ring + len(anchors)], F.FACE_OVAL, base_n)
        tris: list = warp.strip_triangles([CORNERS_IN[0]] + UP_IN + [CORNERS_IN[1]], [CORNERS_IN[0]] + LO_IN + [CORNERS_IN[1]])
        # Eye interiors use duplicated vertices that only follow the head, so a
        # closing lid slides over the eye instead of squashing the iris.
        off = base_n + self.n_ring + len(anchors)
        for _ in EYES:
            upper = list(range(off, off + 9))
            lower = [off] + list(range(off + 9, off + 16)) + [off + 8]
            tris += warp.strip_triangles(upper, lower)
            off += 16
        triangles = np.concatenate([np.array(tris, dtype=np.int32), warp.mesh_triangles(), skirt])
        step = int(np.clip(round(rig.iod / 20.0), 1, 8))
        # Head motion is full inside the ring and eases out to the fixed region border.
        feather = centre + (oval - centre) * 1.22
        self.warper = warp.FaceWarp(self.base, all_src, triangles, self.box, step, feather, fall=0.3 * rig.iod,
                                    detail_box=self._mouth_box(), detail_step=max(1, step // 3),
                                    detail_points=np.array(sorted(set(F.LIPS_OUTER + F.LIPS_INNER + UP_OUT + LO_OUT + rig.lip_ring))))
        cheeks = [0.45 * (rig.rest[list(c)].mean(0)) + 0.55 * rig.rest[m] for c, m in ((F.RIGHT_EYE_CORNERS, 61), (F.LEFT_EYE_CORNERS, 291))]
        self.palette = mouth.sample_palette(self.base, rig.rest[F.LIPS_OUTER], rig.rest[F.LIPS_INNER], cheeks, 0.08 * rig.iod)
        up = -rig.v
        self.lid_colours = {}
        for name, (c, upper, _) in EYES.items():
            lid, lash = motion.sample_lid_colours(self.base, rig.rest[[c[0]] + upper + [c[1]]], up, rig.iod)
            # The crease above the lid is shadowed; lean on the lit cheek skin.
            self.lid_colours[name] = (0.5 * lid + 0.5 * self.palette.skin, lash)
        self._cv2 = cv2
        mouth_shade.available()  # compile (first run on this machine) or load the shader now, not mid-stream
        logger.debug("FaceAnimator: box=%s step=%d triangles=%d iod=%.1f", self.box, step, len(triangles), rig.iod)

    def _mouth_box(self) -> tuple[int, int, int, int]:
        """The lips and their reach (jaw drop, spread, smile): warped on a fine grid."""
        rig = self.rig
        lips = rig.rest[F.LIPS_OUTER]
        reach = np.concatenate([lips - 0.12 * rig.iod * rig.v, lips + 0.3 * rig.iod * rig.v,
                                lips - 0.1 * rig.iod * rig.u, lips + 0.1 * rig.iod * rig.u])
        bx0, by0, bx1, by1 = self.box
        return (max(bx0, int(reach[:, 0].min())), max(by0, int(reach[:, 1].min())),
                min(bx1, int(np.ceil(reach[:, 0].max()))), min(by1, int(np.ceil(reach[:, 1].max()))))

    def life_at(self, frame_index: int, energy: float = 0.0) -> Life:
        """Blink, emotion and head pose for one frame (rest state past the planned clip)."""
        p = self.plan
        if not self.life_enabled or frame_index >= len(p.blink):
            pose, strength, blink, head = p.pose, 1.0, 0.0, None
        else:
            pose, strength, blink = p.pose, float(p.emotion[frame_index]), float(p.blink[frame_index])
            angle = float(p.angle[frame_index])
            shift = p.shift[frame_index] * self.rig.iod
            head = motion.head_matrix(angle, (float(shift[0]), float(shift[1])), tuple(self.rig.pivot))
        smile = pose.smile * strength * (self.smile_damp if pose.smile > 0 else 1.0)
        # Brows lift a touch on emphasised speech.
        brow = pose.brow_raise * strength + 0.3 * max(0.0, float(energy) - 0.6) * p.scales.head
        return Life(blink=blink, smile=smile, brow_raise=brow, brow_inner=pose.brow_inner * strength, head=head)

    def render(self, params: MouthParams, frame_index: int, energy: float = 0.0) -> np.ndarray:
        """One output frame (a new array; the base frame is never modified)."""
        life = self.life_at(frame_index, energy)
        pose = self.plan.pose
        if pose.lip_press or pose.jaw:
            params = MouthParams(**{**params.__dict__, "lip_press": min(1.0, params.lip_press + pose.lip_press * (1 - params.jaw_open)),
                                    "jaw_open": params.jaw_open + pose.jaw})
        local = displace_points(self.rig, params, life, with_head=False)
        # The ring takes half its oval point's local motion (jaw drop) so the skirt never folds.
        ring = self.ring + 0.5 * (local[self.ring_oval] - self.rig.rest[self.ring_oval])
        x0, y0, x1, y1 = self.box
        base = self.base
        out = np.empty_like(base)  # only what lies outside the region is copied; the warp paints the rest in place
        out[:y0], out[y1:] = base[:y0], base[y1:]
        out[y0:y1, :x0], out[y0:y1, x1:] = base[y0:y1, :x0], base[y0:y1, x1:]
        roi = self.warper.warp(np.concatenate([local, ring, self._anchors, self._eye_rest]), life.head, out=out[y0:y1, x0:x1])
        pts = local if life.head is None else motion.apply_matrix(life.head, local)
        upper = pts[_UPPER_INNER]
        lower = pts[_LOWER_INNER]
        mouth.draw_interior(roi, (x0, y0), upper, lower, params, self.palette, self.rig.iod, self.rig.u)
        if life.blink > 0.02:
            for name, (c, upper_ids, _) in EYES.items():
                ids = [c[0]] + upper_ids + [c[1]]
                rest = self.rig.rest[ids] if life.head is None else motion.apply_matrix(life.head, self.rig.rest[ids])
                lid, lash = self.lid_colours[name]
                motion.paint_lid(roi, (x0, y0), rest, pts[ids], lid, lash, life.blink, self.rig.iod, -self.rig.v)
        return out
