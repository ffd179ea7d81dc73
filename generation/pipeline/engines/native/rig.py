"""The face rig: the mesh's fixed structure, and one frame's mesh from mouth, expression and head.

A ``FaceRig`` is built once from the face mesh (in output-frame pixels): the
face's own axes (roll), unit length (inter-ocular distance), lip/lid pairs,
the weights that spread driver motion (lips, lids, brows, jaw, cheeks) to the
rest of the mesh, and the head's 3-D model. ``displace_points`` turns one
frame's mouth parameters and life signals into new mesh positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generation.pipeline import face as F
from generation.pipeline.engines.native import head as head_model
from generation.pipeline.engines.native import motion
from generation.pipeline.engines.native.eyes import IRIS
from generation.pipeline.engines.native.warp import MESH_POINTS
from generation.pipeline.types import MouthParams

UP_IN = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LO_IN = [95, 88, 178, 87, 14, 317, 402, 318, 324]
UP_OUT = [185, 40, 39, 37, 0, 267, 269, 270, 409]
LO_OUT = [146, 91, 181, 84, 17, 314, 405, 321, 375]
CORNERS_IN, CORNERS_OUT = (78, 308), (61, 291)  # (image left, image right)
EYES = {  # corners, upper lid (corner to corner), lower lid (same direction)
    "right": ((33, 133), [246, 161, 160, 159, 158, 157, 173], [7, 163, 144, 145, 153, 154, 155]),
    "left": ((263, 362), [466, 388, 387, 386, 385, 384, 398], [249, 390, 373, 374, 380, 381, 382]),
}
# Cancelling the photo's own smile brings its corners most of the way down to the seam's middle; the
# middle rises only a little (a rising upper lip bares the teeth: a snarl, not a sad or angry mouth).
CANCEL_CORNER = 0.85
# The corners' whole drop from the photo (its smile cancelled plus a frown) stops here (IOD): past it a
# photo that smiled broadly bends its stretched lips into an arch over the teeth, an anguished grimace.
CORNER_DROP_MAX = 0.19
NEUTRAL_CURVE = 0.03  # a neutral closed mouth's seam middle sits about this far (IOD) below its corners
LIDS = np.sin(np.linspace(0, np.pi, 9)[1:-1]) ** 0.5  # (7,) lid points move most in the middle
# A widened eye (upper lid raiser, AU5) shows the white above the iris: its upper lid rises at least
# this far (eye widths) and, on eyes whose lid covers the iris top, to this far above the iris.
WIDE_MIN_LIFT = 0.12
WIDE_SCLERA = 0.06
WIDE_MAX_LIFT = 0.2  # the lid's fold above stops it
# The ring of mesh points just above each upper lid (same order as EYES' upper lids): the photo's lash
# line lies between it and the lid. A lowered lid pulls it down so that band stretches at most this many
# times its height: stretched further toward a raised brow, the lash line smears into a thick dark band.
LASH_RINGS = {"right": [247, 30, 29, 27, 28, 56, 190], "left": [467, 260, 259, 257, 258, 286, 414]}
LASH_STRETCH = 1.5
# Sad lids slant: raised inner brows take the upper lids' inner ends with them, so a heavy lid lowers
# its outer end more (this share more at the outer end, as much less at the inner one).
SAD_SLANT = 0.6
# Sadness draws the raised inner brows together a little too (AU1 with AU4): this share of anger's pull.
SAD_BROW_PULL = 0.25
# Narrowed eyes (a squint, heavy sad lids, a look down) keep at least this share of their opening
# (blinks aside): the iris, and its saccades, stay in view.
MIN_OPEN = 0.4


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
    head: head_model.HeadModel
    lid_gap: dict = field(default_factory=dict)  # eye -> (7,) upper-to-lower lid along v
    lash_gap: dict = field(default_factory=dict)  # eye -> (7,) lash ring (LASH_RINGS) to upper lid along v, >= 1 px
    lid_lift: dict = field(default_factory=dict)  # eye -> (7,) pixels the upper lid rises in a fully widened eye
    eye_width: float = 0.0
    brow_inner: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (20,) 0 outer .. 1 inner
    brow_ids: list = field(default_factory=list)
    drivers: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    others: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    jaw_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (468,) share of the jaw drop
    cheek_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (468,) how much a smile lifts a point
    spread: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (others, drivers)
    pivot: np.ndarray = field(default_factory=lambda: np.zeros(2))
    lip_ring: list = field(default_factory=list)  # mesh points inside the lips (between contours)
    lip_mix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (ring, 468) weights of the contour points
    smile_curve: float = 0.0  # pixels the closed lip seam's middle sits below the corners beyond a neutral mouth's (the photo's own smile)
    lip_frac: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (9,) lip_u over half_width, -1..1: how far a column follows its corner
    brow_inward: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (20,) +-1: the face-x direction toward the nose for each brow point
    brow_room: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (20,) pixels a brow point may be lowered (glasses; empty: no limit)
    brow_reach: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (20,) share of the brows' motion each brow point takes (glasses hold some)
    spread_up: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # like ``spread``, for raised brows (glasses only)


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


def to_face(rig_u: np.ndarray, rig_v: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.stack([d @ rig_u, d @ rig_v], axis=-1)


def _lid_lift(pts: np.ndarray, u: np.ndarray, v: np.ndarray, origin: np.ndarray, upper: list[int], eye_width: float,
              iris: tuple[int, list[int]]) -> np.ndarray:
    """(7,) pixels one upper lid rises for a fully widened eye: to just above the iris (a lid that covers
    its top rises further), at least ``WIDE_MIN_LIFT`` eye widths; without iris points, the minimum."""
    lift = WIDE_MIN_LIFT * eye_width
    if len(pts) > max(iris[1]):
        centre, ring = pts[iris[0], :2], pts[list(iris[1]), :2]
        radius = float(np.max(np.linalg.norm(ring - centre, axis=1)))
        iris_top = float((centre - origin) @ v) - radius
        lid_mid = float((pts[upper[3], :2] - origin) @ v)
        lift = max(lift, lid_mid - (iris_top - WIDE_SCLERA * eye_width))
    return LIDS * min(lift, WIDE_MAX_LIFT * eye_width)


def build_rig(points: np.ndarray, brow_reach: np.ndarray | None = None, brow_room: np.ndarray | None = None,
              brow_reach_up: np.ndarray | None = None) -> FaceRig:
    """Everything about the face that stays fixed for a job (``points``: (N >= 468, 2 or 3) pixels; z is depth).

    ``brow_reach``: (N,) 0..1 per point, how far the brows' motion may reach it (``brow_reach_up``: when
    they are raised); ``brow_room``: (N,) how far (pixels) a brow point may be lowered. All come from
    rigid glasses (``glasses.RimPainter.brow_limits``).
    """
    pts = np.asarray(points, dtype=np.float64)
    p = pts[:MESH_POINTS, :2]
    iod = F.inter_ocular_distance(p)
    r_eye = p[list(F.RIGHT_EYE_CORNERS)].mean(0)
    l_eye = p[list(F.LEFT_EYE_CORNERS)].mean(0)
    u = (l_eye - r_eye) / max(1e-6, np.linalg.norm(l_eye - r_eye))
    v = np.array([-u[1], u[0]])
    mc = 0.5 * (p[CORNERS_OUT[0]] + p[CORNERS_OUT[1]])
    loc = to_face(u, v, p - mc)
    gap = np.maximum(loc[LO_IN, 1] - loc[UP_IN, 1], 0.0)
    # The seam's middle once the rig closes the photo's own opening (see displace_points), against the corners.
    smile_curve = max(0.0, float(loc[13, 1] + 0.45 * gap[4]) - NEUTRAL_CURVE * iod)
    cu = loc[[CORNERS_IN[0], CORNERS_IN[1]], 0]
    tpos = np.clip((loc[UP_IN, 0] - cu[0]) / max(1e-6, cu[1] - cu[0]), 0, 1)
    profile = np.sin(np.pi * tpos) ** 0.7
    lid_gap = {}
    for name, (_, upper, lower) in EYES.items():
        lid_gap[name] = np.maximum(loc[lower, 1] - loc[upper, 1], 0.0)
    lash_gap = {name: np.maximum(loc[EYES[name][1], 1] - loc[ring, 1], 1.0) for name, ring in LASH_RINGS.items()}
    eye_width = 0.5 * sum(float(np.linalg.norm(p[c[0]] - p[c[1]])) for c, _, _ in EYES.values())
    lid_lift = {name: _lid_lift(pts, u, v, mc, upper, eye_width, IRIS[name]) for name, (_, upper, _) in EYES.items()}
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
    # Cheeks: the smile lifts the flesh between the eye and the mouth corner, not the lips or lids.
    eye_v = 0.5 * (loc[F.RIGHT_EYE, 1].mean() + loc[F.LEFT_EYE, 1].mean())
    cheek = np.zeros(len(p))
    for corner, eye_c in ((CORNERS_OUT[0], list(F.RIGHT_EYE_CORNERS)), (CORNERS_OUT[1], list(F.LEFT_EYE_CORNERS))):
        centre = 0.45 * loc[eye_c].mean(0) + 0.55 * loc[corner]
        centre[0] += np.sign(centre[0]) * 0.12 * iod
        cheek = np.maximum(cheek, np.exp(-((loc - centre) ** 2).sum(1) / (2 * (0.28 * iod) ** 2)))
    cheek *= np.clip((loc[:, 1] - eye_v) / (0.15 * iod), 0, 1)  # nothing above the lower lids
    # Driver motion reaches nearby points through a Gaussian kernel; lids only
    # pull points on their own side, lips only points near the mouth.
    sigma = np.full(len(drivers), 0.16 * iod)
    is_brow = np.isin(drivers, brow_ids)
    sigma[is_brow] = 0.22 * iod
    sigma[np.isin(drivers, eyes)] = 0.12 * iod
    d2 = ((p[others][:, None, :] - p[drivers][None, :, :]) ** 2).sum(-1)
    # Tails are cut (softly, so motion stays continuous): far points stay exactly still.
    k = np.clip(np.exp(-d2 / (2 * sigma[None, :] ** 2)) - 0.03, 0, None) / 0.97
    upper_lids = [i for (_, up, _) in EYES.values() for i in up]
    lower_lids = [i for (_, _, lo) in EYES.values() for i in lo]
    above_eyes = loc[others, 1] < eye_v
    k[:, np.isin(drivers, upper_lids)] *= above_eyes[:, None]
    k[:, np.isin(drivers, lower_lids)] *= ~above_eyes[:, None]
    # Brow motion fades out toward the eye line, so a lowered brow never drags the lash line past the eye corners.
    k[:, is_brow] *= np.clip((eye_v - loc[others, 1]) / (0.15 * iod), 0, 1)[:, None]
    brow_k = k[:, is_brow].copy()
    if brow_reach is not None:
        k[:, is_brow] *= np.asarray(brow_reach, dtype=np.float64)[others][:, None]
    k[:, np.isin(drivers, [c for (cc, _, _) in EYES.values() for c in cc])] = 0.0
    # Lip motion fades out above the upper lip so the nose stays put.
    lip_top = loc[UP_OUT, 1].min()
    fade = np.clip(1 - (lip_top - loc[others, 1]) / (0.15 * iod), 0, 1)
    k[:, np.isin(drivers, lips + lip_ring)] *= fade[:, None]
    spread = k / np.maximum(k.sum(1, keepdims=True), 1.0)
    spread_up = np.zeros((0, 0))
    if brow_reach_up is not None:  # raised brows reach further down (behind glasses: the upper lid skin stretches)
        k[:, is_brow] = brow_k * np.asarray(brow_reach_up, dtype=np.float64)[others][:, None]
        spread_up = k / np.maximum(k.sum(1, keepdims=True), 1.0)
    pivot = mc + v * 0.9 * iod  # the neck: in-plane head motion rotates about it
    depth = pts[:MESH_POINTS, 2] if pts.shape[1] > 2 else np.zeros(len(p))
    head = head_model.build_head(np.column_stack([p, depth]), u, v, mc, iod)
    half_width = 0.5 * float(cu[1] - cu[0])
    return FaceRig(rest=p, iod=iod, lip_ring=lip_ring, lip_mix=lip_mix, u=u, v=v, mouth_centre=mc, lip_gap=gap, lip_profile=profile,
                   lip_u=loc[UP_IN, 0], half_width=half_width, head=head, lid_gap=lid_gap, lash_gap=lash_gap, lid_lift=lid_lift, eye_width=eye_width,
                   brow_inner=brow_inner, brow_ids=brow_ids, drivers=drivers, others=others, jaw_weight=jw, cheek_weight=cheek,
                   spread=spread, pivot=pivot, smile_curve=smile_curve,
                   lip_frac=np.clip(loc[UP_IN, 0] / max(1e-6, half_width), -1, 1),
                   brow_inward=-np.sign(to_face(u, v, p[brow_ids] - p[F.NOSE_TIP])[:, 0]),
                   brow_room=np.zeros(0) if brow_room is None else np.asarray(brow_room, dtype=np.float64)[brow_ids],
                   brow_reach=np.ones(len(brow_ids)) if brow_reach is None else np.asarray(brow_reach, dtype=np.float64)[brow_ids],
                   spread_up=spread_up)


@dataclass(frozen=True)
class Life:
    """Non-mouth state of one frame (expression offsets in inter-ocular units, already scaled)."""

    blink: float = 0.0
    smile: float = 0.0  # mouth corners up/out (negative: down, a frown)
    brow_raise: float = 0.0
    brow_inner: float = 0.0  # inner brow ends up (sad) / down and in (negative, angry)
    brow_outer: float = 0.0  # outer brow ends up (surprise's arch)
    lid_open: float = 0.0  # eyes widened (negative: narrowed)
    cheek: float = 0.0  # cheeks raised (a smile's)
    lower_lip_up: float = 0.0  # the chin pushes the lower lip up (a pout)
    unsmile: float = 0.0  # share of the photo's own smile (rig.smile_curve) flattened out (sad, angry)
    yaw: float = 0.0  # out-of-plane head turn, radians
    pitch: float = 0.0  # nod, radians (positive: down)
    gaze: tuple[float, float] = (0.0, 0.0)  # eye widths, (right, down)
    head: np.ndarray | None = None  # 2x3 in-plane similarity applied last


def _clip(x: float, lo: float, hi: float) -> float:
    """Scalar clip (``np.clip`` on a Python float costs microseconds per call)."""
    return min(max(float(x), lo), hi)


# Index arrays built once: fancy indexing with a list converts it on every call.
_UP_IN, _LO_IN, _UP_OUT, _LO_OUT = (np.array(ids) for ids in (UP_IN, LO_IN, UP_OUT, LO_OUT))
UPPER_INNER = np.array([CORNERS_IN[0]] + UP_IN + [CORNERS_IN[1]])  # inner-lip contours, corner to corner
LOWER_INNER = np.array([CORNERS_IN[0]] + LO_IN + [CORNERS_IN[1]])
_EYE_IDS = {name: (np.array(up), np.array(lo)) for name, (_, up, lo) in EYES.items()}
_OUTER_FIRST = np.linspace(1.0, -1.0, 7)  # along each upper lid, outer end first
_LASH_IDS = {name: np.array(ring) for name, ring in LASH_RINGS.items()}


def head_offset(rig: FaceRig, life: Life) -> np.ndarray:
    """(468, 2) face-axes displacement of the mesh by the out-of-plane head turn alone."""
    return rig.head.displacement(life.yaw, life.pitch)


def displace_points(rig: FaceRig, params: MouthParams, life: Life = Life(), *, with_head: bool = True,
                    turn: np.ndarray | None = None) -> np.ndarray:
    """The (468, 2) mesh positions for one frame, in output pixels.

    ``with_head=False``: before the in-plane head motion (the out-of-plane turn is
    always in); ``turn``: ``head_offset(rig, life)`` when the caller has it already.
    """
    iod = rig.iod
    jaw = _clip(params.jaw_open, 0.0, 1.2)
    press = _clip(params.lip_press, 0.0, 1.0)
    width = _clip(params.lip_width, -1.0, 1.0)
    rnd = _clip(params.rounding, 0.0, 1.0)
    # A smile lifts the upper lip off the teeth (zygomaticus and levator pull it up and out).
    raise_ = _clip(params.upper_lip_raise + 0.6 * max(life.smile, 0.0), 0.0, 1.0)
    tuck = _clip(params.lower_lip_tuck, 0.0, 1.0)
    UP_IN, LO_IN, UP_OUT, LO_OUT = _UP_IN, _LO_IN, _UP_OUT, _LO_OUT  # noqa: N806 - same names as the module lists
    prof, g = rig.lip_profile, rig.lip_gap
    disp = np.zeros_like(rig.rest)  # (du, dv) in face axes
    smile = life.smile
    happy, frown = max(smile, 0.0), max(-smile, 0.0)

    # Target inner-lip gap per column, relative to the closed midline (the photo's
    # own opening, if any, is closed first: the rest state has the lips together).
    open_c = iod * (0.34 * jaw + 0.012 + 0.02 * max(life.smile, 0.0)) * (1 - press)
    gap_t = prof * open_c + rnd * 0.05 * iod * np.sqrt(prof) * (1 - press)
    gap_t = gap_t * (1 - tuck) + tuck * 0.03 * iod * prof
    close_up, close_lo = 0.45 * g, 0.55 * g
    pout = life.lower_lip_up * iod * prof
    disp[UP_IN, 1] = close_up - 0.15 * gap_t - raise_ * 0.06 * iod * prof
    disp[LO_IN, 1] = -close_lo + 0.85 * gap_t - 0.5 * pout
    disp[UP_OUT, 1] = 0.4 * close_up - 0.13 * gap_t - raise_ * 0.07 * iod * prof + (press * 0.012 - rnd * 0.02) * iod * prof
    disp[LO_OUT, 1] = -0.5 * close_lo + 0.85 * gap_t + (rnd * 0.02 - press * 0.012 - tuck * 0.035) * iod * prof - pout
    drop = 0.85 * float(gap_t.max(initial=0.0))

    # Corners: spread (EE), narrow (OO), pulled in as the jaw opens; up and out
    # for a smile, down (and a little in) for a frown.
    corner_du = iod * (width * 0.06 - rnd * 0.09 - jaw * 0.025 + 0.05 * happy - 0.01 * frown)
    # Cancelling the photo's own smile (see CANCEL_CORNER), then the frown, within CORNER_DROP_MAX.
    cancel = _clip(life.unsmile, 0.0, 1.0) * rig.smile_curve
    frown_dv = min(0.07 * frown * iod, max(CORNER_DROP_MAX * iod - CANCEL_CORNER * cancel, 0.0))
    corner_dv = 0.25 * drop - 0.07 * happy * iod + frown_dv + CANCEL_CORNER * cancel
    corner_du -= 0.3 * cancel  # and come back in from the smile's stretch
    for idx, sign in zip(CORNERS_IN, (-1, 1)):
        disp[idx] = (sign * corner_du, corner_dv)
    for idx, sign in zip(CORNERS_OUT, (-1, 1)):
        disp[idx] = (sign * corner_du, corner_dv)
    for ids in (UP_IN, LO_IN, UP_OUT, LO_OUT):
        disp[ids, 0] = rig.lip_frac * corner_du
        disp[ids, 1] += (1 - prof) * corner_dv - (1 - CANCEL_CORNER) * cancel * prof  # columns near a corner follow it

    disp[rig.lip_ring] = rig.lip_mix @ disp

    # Lids: blinks slide the upper lid down to the lower one; the lids follow the
    # gaze up and down; a smile or anger narrows the eyes, surprise widens them.
    b = _clip(life.blink, 0.0, 1.0)
    gaze_dv = life.gaze[1] * rig.eye_width
    squint, wide = max(-life.lid_open, 0.0), max(life.lid_open, 0.0)
    slant = _clip(life.brow_inner, 0.0, 1.0)  # raised inner brows lift the lids' inner ends: sad eyes slant
    for name, (upper, lower) in _EYE_IDS.items():
        lg = rig.lid_gap[name]
        top = 0.55 * gaze_dv * LIDS + 0.2 * squint * lg * (1 + SAD_SLANT * slant * _OUTER_FIRST) - min(wide, 1.0) * rig.lid_lift[name]
        low = 0.2 * gaze_dv * LIDS - (0.2 * squint + 0.06 * wide) * lg - 0.03 * iod * happy * LIDS
        # Heavy lids and a look down together would all but shut a hooded eye: scale back past the limit.
        keep = np.minimum(1.0, (1.0 - MIN_OPEN) * lg / np.maximum(top - low, 1e-9))
        top, low = top * keep, low * keep
        disp[upper, 1] = top + b * (0.85 * lg - top)
        disp[lower, 1] = low - b * 0.15 * lg

    # Brows: raise/lower as a whole, inner ends up and a little in (sad) or down-and-in (angry).
    inner = rig.brow_inner
    disp[rig.brow_ids, 1] = -0.08 * iod * life.brow_raise - 0.07 * iod * (life.brow_inner * inner + life.brow_outer * (1 - inner))
    pull_in = min(life.brow_inner, 0.0) - SAD_BROW_PULL * max(life.brow_inner, 0.0)
    disp[rig.brow_ids, 0] = 0.06 * iod * pull_in * -inner * rig.brow_inward
    if len(rig.brow_room):
        disp[rig.brow_ids, 1] = np.minimum(disp[rig.brow_ids, 1], rig.brow_room)  # never below rigid glasses' rims
        # ... and are raised only as far as the frame lets them (lowered ones slip behind the rims).
        disp[rig.brow_ids, 1] = np.where(disp[rig.brow_ids, 1] < 0, disp[rig.brow_ids, 1] * rig.brow_reach, disp[rig.brow_ids, 1])

    # Everything else: its share of the jaw drop plus the drivers' residual motion.
    jaw_part = np.zeros_like(disp)
    jaw_part[:, 1] = drop * rig.jaw_weight
    resid = disp[rig.drivers] - jaw_part[rig.drivers]
    spread = rig.spread_up if rig.spread_up.size and disp[rig.brow_ids, 1].mean() < 0 else rig.spread
    disp[rig.others] = jaw_part[rig.others] + spread @ resid
    cheek = 0.05 * iod * life.cheek - 0.5 * cancel  # the smile's raised cheeks settle as it is cancelled
    if cheek:
        disp[rig.others, 1] -= cheek * rig.cheek_weight[rig.others]
    for name, ring in _LASH_IDS.items():
        disp[ring, 1] = np.maximum(disp[ring, 1], disp[_EYE_IDS[name][0], 1] - (LASH_STRETCH - 1.0) * rig.lash_gap[name])
    if life.yaw or life.pitch:
        disp += head_offset(rig, life) if turn is None else turn
    pts = rig.rest + disp[:, :1] * rig.u + disp[:, 1:] * rig.v
    if with_head and life.head is not None:
        pts = motion.apply_matrix(life.head, pts)
    return pts
