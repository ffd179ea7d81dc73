"""Per-frame face animation of the native engine.

``FaceAnimator`` is built once per job from the photo and its face mesh (in
output-frame pixels). Each frame it asks the rig (``rig.displace_points``) for
the mesh of this frame's mouth, expression and head pose, warps the face region
to it, and paints what the photo cannot show: the mouth interior with its
teeth, the irises at their new gaze, closing lids and smile folds.
"""

from __future__ import annotations

import logging

import numpy as np

from generation.pipeline import face as F
from generation.pipeline.engines.native import cheeks, eyes, glasses, motion, mouth, teeth, warp
from generation.pipeline.engines.native import shade as mouth_shade
from generation.pipeline.engines.native.rig import (
    EYES,
    LO_IN,
    LO_OUT,
    LOWER_INNER,
    UP_IN,
    UP_OUT,
    UPPER_INNER,
    Life,
    build_rig,
    displace_points,
    head_offset,
)
from generation.pipeline.types import FaceAnalysis, MouthParams

logger = logging.getLogger(__name__)

LIP_PUSH = 0.035  # inner-lip control points sit this far (IOD units) inside the lips
_CENTRE_LOWER = 14  # lower inner-lip midpoint: the jaw's reference
FROWN_FULL = 1.5  # brow_inner pull (negative) at which the frown lines are fully drawn
BROW_SHADOW_FULL = 1.5  # brow lowering (negative brow_raise) at which the brows' shadow is fully drawn
JAW_TEETH = 0.9  # share of the lower lip's drop the lower teeth follow
SMILE_DAMP = 0.3  # a photo smiling fully keeps this share of a happy smile out


class FaceAnimator:
    """Renders frames of one face: warp the face region, then paint mouth interior, eyes, lids and folds."""

    def __init__(self, base_frame: np.ndarray, face: FaceAnalysis, *, emotion: str = "neutral", style: str = "natural",
                 expression: dict | None = None, seed: int = 0, fps: int = 25, animate_margin: float = 0.25,
                 energy_track: np.ndarray | None = None, frame_count: int = 0, life: bool = True):
        self.base = np.ascontiguousarray(base_frame)
        h, w = self.base.shape[:2]
        # Dark glasses rims stay rigid: the warp samples the photo without them, they are pasted back,
        # and the brows' motion stops at their lower edge (the frame holds the skin behind it).
        iod = F.inter_ocular_distance(face.points)
        self.rims = glasses.RimPainter(self.base, face.points, iod)
        reach, room, reach_up = self.rims.brow_limits(face.points, iod) if self.rims.found else (None, None, None)
        self.rig = build_rig(face.landmarks, brow_reach=reach, brow_room=room, brow_reach_up=reach_up)
        rig = self.rig
        self.fps = fps
        energy_track = np.zeros(0) if energy_track is None else np.asarray(energy_track, dtype=np.float64)
        n = max(frame_count, len(energy_track))
        self.plan = motion.plan_motion(n, fps, energy_track, emotion=emotion, style=style, seed=seed)
        self.life_enabled = life
        self.source_smile = motion.source_smile(expression, rig.smile_curve / rig.iod)
        # A photo that already smiles smiles on less (but still a little: cheeks up, a wider mouth).
        self.smile_damp = 1.0 - SMILE_DAMP * self.source_smile

        self.box = warp.region_box(face.bbox, animate_margin, (w, h))
        bx0, by0, bx1, by1 = self.box
        src = rig.rest.copy()
        # Push never past the next ring of lip points, or the source mesh would fold.
        ring_pts = rig.rest[rig.lip_ring] if rig.lip_ring else np.zeros((0, 2))
        for ids, sign in ((UP_IN, -1.0), (LO_IN, 1.0)):
            for i in ids:
                near = np.linalg.norm(ring_pts - rig.rest[i], axis=1).min(initial=np.inf)
                src[i] += sign * min(LIP_PUSH * rig.iod, 0.6 * near) * rig.v
        # A half-moving ring between the face oval and the fixed border: hair, ears and
        # neck follow the face's motion with a falloff, the region border stays put.
        oval = rig.rest[F.FACE_OVAL]
        centre = oval.mean(0)
        ring = centre + (oval[::2] - centre) * 1.22
        inside = (ring[:, 0] > bx0 + 2) & (ring[:, 0] < bx1 - 3) & (ring[:, 1] > by0 + 2) & (ring[:, 1] < by1 - 3)
        self.ring = ring[inside]
        self.ring_oval = np.array(F.FACE_OVAL[::2])[inside]  # the oval point each ring point half-follows
        anchors = warp.anchor_ring(self.box)
        eye_ids = [i for (c, up, lo) in EYES.values() for i in [c[0]] + up + [c[1]] + lo]
        self.eye_dup = np.array(eye_ids, dtype=int)
        base_n = warp.MESH_POINTS
        self.n_ring = len(self.ring)
        all_src = np.concatenate([src, self.ring, anchors, rig.rest[self.eye_dup]])
        self._anchors = anchors
        skirt = warp.skirt_triangles(all_src[: base_n + self.n_ring + len(anchors)], F.FACE_OVAL, base_n)
        tris: list = warp.strip_triangles(list(UPPER_INNER), list(LOWER_INNER))
        # Eye interiors use duplicated vertices that only follow the head, so a
        # closing lid slides over the eye instead of squashing the iris.
        off = base_n + self.n_ring + len(anchors)
        for _ in EYES:
            upper = list(range(off, off + 9))
            lower = [off] + list(range(off + 9, off + 16)) + [off + 8]
            tris += warp.strip_triangles(upper, lower)
            off += 16
        # Far triangles first: when the head turns, the nearer ones (the nose) win where they overlap.
        mesh = warp.mesh_triangles()
        mesh = mesh[np.argsort(-rig.head.rest3[mesh, 2].mean(axis=1), kind="stable")]
        triangles = np.concatenate([np.array(tris, dtype=np.int32), mesh, skirt])
        step = int(np.clip(round(rig.iod / 20.0), 1, 8))
        # In-plane head motion is full inside the ring and eases out to the fixed region border.
        feather = centre + (oval - centre) * 1.22
        self.warper = warp.FaceWarp(self.rims.source, all_src, triangles, self.box, step, feather, fall=0.3 * rig.iod,
                                    detail_box=self._mouth_box(), detail_step=max(1, step // 3),
                                    detail_points=np.array(sorted(set(F.LIPS_OUTER + F.LIPS_INNER + UP_OUT + LO_OUT + rig.lip_ring))))
        cheek_spots = [0.45 * (rig.rest[list(c)].mean(0)) + 0.55 * rig.rest[m] for c, m in ((F.RIGHT_EYE_CORNERS, 61), (F.LEFT_EYE_CORNERS, 291))]
        self.palette = mouth.sample_palette(self.base, rig.rest[F.LIPS_OUTER], rig.rest[F.LIPS_INNER], cheek_spots, 0.08 * rig.iod)
        up = -rig.v
        self.lid_colours = {}
        self._upper_lids = {name: np.array([c[0]] + upper + [c[1]]) for name, (c, upper, _) in EYES.items()}  # corner to corner
        for name, ids in self._upper_lids.items():
            lid, lash = motion.sample_lid_colours(self.base, rig.rest[ids], up, rig.iod)
            # The crease above the lid is shadowed; lean on the lit cheek skin.
            self.lid_colours[name] = (0.5 * lid + 0.5 * self.palette.skin, lash)
        self.eyes = eyes.EyePainter(self.base, face.points)
        self._eye_contours = {name: np.array(eyes.contour_ids(name)) for name in self.eyes.eyes}
        # Teeth sit behind the lips where they close at rest (the photo's own opening, if any, closed).
        gap = np.maximum((rig.rest[LOWER_INNER] - rig.rest[UPPER_INNER]) @ rig.v, 0.0)
        closed = rig.rest[UPPER_INNER] + 0.45 * gap[:, None] * rig.v
        closed_loc = np.column_stack([(closed - rig.mouth_centre) @ rig.u, (closed - rig.mouth_centre) @ rig.v])
        self.dentition = teeth.build_dentition(closed_loc, rig.head.rest3[UPPER_INNER, 2], rig.iod, rig.half_width)
        self.folds = cheeks.FoldPainter(rig.rest, rig.iod, rig.u, rig.v, strength_scale=self.smile_damp)
        self.frowns = cheeks.FrownPainter(rig.rest, rig.iod, rig.u, rig.v)
        self.brow_shadow = cheeks.BrowShadowPainter(rig.rest, rig.iod, rig.u, rig.v)
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
        """Blink, gaze, emotion and head pose for one frame (rest state past the planned clip)."""
        p = self.plan
        pose = p.pose
        if not self.life_enabled or frame_index >= len(p.blink):
            strength = upper = 1.0
            blink, head, yaw, pitch, gaze = 0.0, None, 0.0, 0.0, (0.0, 0.0)
        else:
            i = frame_index
            strength, upper, blink = float(p.emotion[i]), float(p.emotion_upper[i]), float(p.blink[i])
            shift = p.shift[i] * self.rig.iod
            head = motion.head_matrix(float(p.angle[i]), (float(shift[0]), float(shift[1])), tuple(self.rig.pivot))
            yaw, pitch = float(p.yaw[i]), float(p.pitch[i])
            gaze = (float(p.gaze[i, 0]), float(p.gaze[i, 1]) + pose.gaze_down * upper)
        # A photo that already smiles needs less smile, and more frown to look sad.
        smile = pose.smile * strength * (self.smile_damp if pose.smile > 0 else 1.0 + self.source_smile)
        # Brows lift a touch on emphasised speech.
        brow = pose.brow_raise * upper + 0.3 * max(0.0, float(energy) - 0.6) * p.scales.head
        return Life(blink=blink, smile=smile, brow_raise=brow, brow_inner=pose.brow_inner * upper,
                    brow_outer=pose.brow_outer * upper, lid_open=pose.lid_open * upper,
                    cheek=pose.cheek * strength * self.smile_damp, lower_lip_up=pose.lower_lip_up * strength,
                    unsmile=pose.unsmile * strength,
                    yaw=yaw, pitch=pitch, gaze=gaze, head=head)

    def render(self, params: MouthParams, frame_index: int, energy: float = 0.0) -> np.ndarray:
        """One output frame (a new array; the base frame is never modified)."""
        life = self.life_at(frame_index, energy)
        pose = self.plan.pose
        rig = self.rig
        if pose.lip_press or pose.jaw:
            params = MouthParams(**{**params.__dict__, "lip_press": min(1.0, params.lip_press + pose.lip_press * (1 - params.jaw_open)),
                                    "jaw_open": params.jaw_open + pose.jaw})
        turn = head_offset(rig, life)
        local = displace_points(rig, params, life, with_head=False, turn=turn)
        # The ring takes half its oval point's local motion (jaw drop, turn) so the skirt never folds.
        ring = self.ring + 0.5 * (local[self.ring_oval] - rig.rest[self.ring_oval])
        carried = rig.rest + turn[:, :1] * rig.u + turn[:, 1:] * rig.v  # the mesh moved by the head turn alone
        x0, y0, x1, y1 = self.box
        base = self.base
        out = np.empty_like(base)  # only what lies outside the region is copied; the warp paints the rest in place
        out[:y0], out[y1:] = base[:y0], base[y1:]
        out[y0:y1, :x0], out[y0:y1, x1:] = base[y0:y1, :x0], base[y0:y1, x1:]
        roi = self.warper.warp(np.concatenate([local, ring, self._anchors, carried[self.eye_dup]]), life.head, out=out[y0:y1, x0:x1])
        pts = local if life.head is None else motion.apply_matrix(life.head, local)
        carried = carried if life.head is None else motion.apply_matrix(life.head, carried)
        # The jaw carries the lower teeth: the lower lip's drop from where it closes at rest (the rig
        # first closes 55% of the photo's own gap from below). They drop a little less than the lip,
        # so a wide vowel shows their edges.
        drop = JAW_TEETH * max(0.0, float((local[_CENTRE_LOWER] - rig.rest[_CENTRE_LOWER]) @ rig.v - turn[_CENTRE_LOWER, 1])
                               + 0.55 * float(rig.lip_gap[4]))
        placed = teeth.place(self.dentition, rig.head, life.yaw, life.pitch, drop, life.head)
        mouth.draw_interior(roi, (x0, y0), pts[UPPER_INNER], pts[LOWER_INNER], params, self.palette, rig.iod, rig.u, placed)
        if self.life_enabled:
            gaze = np.array(life.gaze)
            for name, ids in self._eye_contours.items():
                self.eyes.paint(roi, (x0, y0), name, pts[ids], carried[ids], gaze)
        if life.blink > 0.02:
            for name, ids in self._upper_lids.items():
                lid, lash = self.lid_colours[name]
                motion.paint_lid(roi, (x0, y0), carried[ids], pts[ids], lid, lash, life.blink, rig.iod, -rig.v)
        if life.smile > 0:
            self.folds.paint(roi, (x0, y0), pts, life.smile)
        if life.brow_inner < 0:  # brows pulled down and in crease the skin between them
            self.frowns.paint(roi, (x0, y0), pts, -life.brow_inner / FROWN_FULL)
        if life.brow_raise < 0 and life.brow_inner < 0:  # brows drawn down and together bunch and darken (anger)
            self.brow_shadow.paint(roi, (x0, y0), pts, -life.brow_raise / BROW_SHADOW_FULL)
        self.rims.paint(roi, (x0, y0), carried)  # glasses sit in front of everything
        return out
