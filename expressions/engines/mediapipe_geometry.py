"""ARKit-named blendshapes measured from face landmark geometry (the MediaPipe
mesh; the same measurements serve 68-point layouts through ``Scheme``).

Every measurement is taken in the face's own frame: the origin is the midpoint
of the two eye centres, x runs along the eye line (image left -> right, i.e.
subject's right eye -> left eye) and y is perpendicular to it (down the face),
so head roll does not leak into "up" and "down". Distances are divided by the
inter-ocular distance (IOD, eye centre to eye centre). "Left"/"Right" are the
subject's, as in ARKit (subject's left = image right).

Each value is ``ramp(m, neutral, full)``: 0 at the neutral ratio, 1 at the
full-scale ratio, clipped to [0, 1]. Neutral ratios are those of a relaxed
adult face (mouth width ~0.8 IOD, eyes ~0.30 high/wide); a person whose
neutral face differs reads a little above 0.

| blendshape          | measurement m (units IOD unless a ratio)                        | neutral | full |
|---------------------|-----------------------------------------------------------------|---------|------|
| eyeBlinkL/R         | lid gap (159-145 / 386-374) / eye width (33-133 / 362-263)      | 0.28    | 0.08 |
| eyeWideL/R          | same ratio                                                      | 0.40    | 0.55 |
| jawOpen             | inner-lip gap 13-14                                             | 0.02    | 0.60 |
| mouthClose          | jaw drop (nose tip 1 -> chin 152: 1.15 -> 1.55) x lips shut (gap 0.02 -> 0.15 reversed) | | |
| mouthSmileL/R       | 0.7 x corner lift above inner upper lip 13 (-0.02 -> 0.10) + 0.3 x half-width (0.40 -> 0.52) | | |
| mouthFrownL/R       | corner drop below 13                                            | 0.04    | 0.15 |
| mouthStretchL/R     | half-width (corner to mouth axis) x (1 - lift part)              | 0.42    | 0.58 |
| mouthPucker         | mouth width 61-291 x lips shut (gap 0.05 -> 0.25 reversed)       | 0.80    | 0.58 |
| mouthFunnel         | mouth width narrowing x lips apart (gap 0.05 -> 0.25)            | 0.80    | 0.58 |
| browInnerUp         | inner brow (107, 336) above inner eye corners                    | 0.36    | 0.55 |
| browDownL/R         | mean of inner+mid brow (107/105, 336/334) above eye line         | 0.30    | 0.16 |
| browOuterUpL/R      | outer brow (70, 300) above outer eye corners                     | 0.27    | 0.45 |
| cheekSquintL/R      | lower lid (145, 374) to mouth corner distance                    | 0.95    | 0.72 |
| jawLeft/Right       | chin 152 sideways from the nasion 168 (+x = subject's left)      | 0.03    | 0.25 |

Head pose (degrees) comes from the mesh's 3D axes (eye line and forehead 10 ->
chin 152, with MediaPipe's relative depth): yaw > 0 when the face turns
toward image right, pitch > 0 when it tilts up, roll > 0 when the eye line
slopes down toward image right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expressions.engines.common import ramp
from generation.pipeline.face import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS

BLENDSHAPE_KEYS = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight",
    "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthPucker", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
)  # fmt: skip

Idx = tuple[int, ...]  # one landmark, or several averaged


@dataclass(frozen=True)
class Side:
    eye_out: Idx
    eye_in: Idx
    lid_up: Idx
    lid_low: Idx
    mouth: Idx
    brow_in: Idx
    brow_mid: Idx
    brow_out: Idx


@dataclass(frozen=True)
class Scheme:
    """Which landmarks play each role, so one measurement serves several landmark layouts."""

    right: Side  # subject's right (image left)
    left: Side
    upper_inner_lip: Idx
    lower_inner_lip: Idx
    nose_tip: Idx
    chin: Idx
    nasion: Idx


MESH_SCHEME = Scheme(
    right=Side(eye_out=(RIGHT_EYE_CORNERS[0],), eye_in=(RIGHT_EYE_CORNERS[1],), lid_up=(159,), lid_low=(145,), mouth=(61,), brow_in=(107,), brow_mid=(105,), brow_out=(70,)),
    left=Side(eye_out=(LEFT_EYE_CORNERS[1],), eye_in=(LEFT_EYE_CORNERS[0],), lid_up=(386,), lid_low=(374,), mouth=(291,), brow_in=(336,), brow_mid=(334,), brow_out=(300,)),
    upper_inner_lip=(13,), lower_inner_lip=(14,), nose_tip=(1,), chin=(152,), nasion=(168,),
)

# The iBUG 68-point layout (3DDFA_V2's keypoints; OpenSeeFace's 66 are converted to it).
IBUG68_SCHEME = Scheme(
    right=Side(eye_out=(36,), eye_in=(39,), lid_up=(37, 38), lid_low=(41, 40), mouth=(48,), brow_in=(21,), brow_mid=(19,), brow_out=(17,)),
    left=Side(eye_out=(45,), eye_in=(42,), lid_up=(43, 44), lid_low=(47, 46), mouth=(54,), brow_in=(22,), brow_mid=(24,), brow_out=(26,)),
    upper_inner_lip=(62,), lower_inner_lip=(66,), nose_tip=(30,), chin=(8,), nasion=(27,),
)


class FaceFrame:
    """2D face coordinates: origin between the eyes, x along the eye line, unit = IOD."""

    def __init__(self, points_xy: np.ndarray, scheme: Scheme):
        p = np.asarray(points_xy, dtype=np.float64)
        right = p[list(scheme.right.eye_out + scheme.right.eye_in)].mean(axis=0)
        left = p[list(scheme.left.eye_out + scheme.left.eye_in)].mean(axis=0)
        axis = left - right
        self.iod = float(np.linalg.norm(axis))
        if self.iod < 1e-6:
            raise ValueError("degenerate landmarks")
        self.ex = axis / self.iod
        self.ey = np.array([-self.ex[1], self.ex[0]])  # perpendicular, pointing down the face
        self.origin = (left + right) / 2.0
        self.local = ((p - self.origin) @ np.stack([self.ex, self.ey], axis=1)) / self.iod

    def __getitem__(self, idx: Idx) -> np.ndarray:
        return self.local[list(idx)].mean(axis=0)

    def dist(self, a: Idx, b: Idx) -> float:
        return float(np.linalg.norm(self[a] - self[b]))


def blendshapes_from_points(points_xy: np.ndarray, scheme: Scheme) -> dict[str, float]:
    """The blendshapes of one face's 2D landmarks in pixels; see the module docstring."""
    f = FaceFrame(points_xy, scheme)
    out: dict[str, float] = {}
    upper, lower = scheme.upper_inner_lip, scheme.lower_inner_lip
    gap = f.dist(upper, lower)
    lips_shut = 1.0 - ramp(gap, 0.05, 0.25)
    mouth_axis_x = (f[upper][0] + f[lower][0]) / 2.0
    width = f.dist(scheme.right.mouth, scheme.left.mouth)
    inner_brows = []
    for name, s in (("Right", scheme.right), ("Left", scheme.left)):
        aperture = f.dist(s.lid_up, s.lid_low) / max(f.dist(s.eye_out, s.eye_in), 1e-6)
        out[f"eyeBlink{name}"] = ramp(aperture, 0.28, 0.08)
        out[f"eyeWide{name}"] = ramp(aperture, 0.40, 0.55)
        corner = f[s.mouth]
        lift = f[upper][1] - corner[1]
        half_width = abs(corner[0] - mouth_axis_x)
        lift_part = ramp(lift, -0.02, 0.10)
        out[f"mouthSmile{name}"] = min(1.0, 0.7 * lift_part + 0.3 * ramp(half_width, 0.40, 0.52) * lift_part**0.5)
        out[f"mouthFrown{name}"] = ramp(-lift, 0.04, 0.15)
        out[f"mouthStretch{name}"] = ramp(half_width, 0.42, 0.58) * (1.0 - lift_part)
        inner_brow = f[s.eye_in][1] - f[s.brow_in][1]
        mid_brow = (f[s.eye_in][1] + f[s.eye_out][1]) / 2.0 - f[s.brow_mid][1]
        inner_brows.append(inner_brow)
        out[f"browDown{name}"] = ramp((inner_brow + mid_brow) / 2.0, 0.30, 0.16)
        out[f"browOuterUp{name}"] = ramp(f[s.eye_out][1] - f[s.brow_out][1], 0.27, 0.45)
        out[f"cheekSquint{name}"] = ramp(f.dist(s.lid_low, s.mouth), 0.95, 0.72)
    out["browInnerUp"] = ramp(sum(inner_brows) / 2.0, 0.36, 0.55)
    out["jawOpen"] = ramp(gap, 0.02, 0.60)
    jaw_drop = ramp(f.dist(scheme.nose_tip, scheme.chin), 1.15, 1.55)
    out["mouthClose"] = jaw_drop * (1.0 - ramp(gap, 0.02, 0.15))
    narrowing = ramp(width, 0.80, 0.58)
    out["mouthPucker"] = narrowing * lips_shut
    out["mouthFunnel"] = narrowing * (1.0 - lips_shut)
    sideways = f[scheme.chin][0] - f[scheme.nasion][0]
    out["jawLeft"] = ramp(sideways, 0.03, 0.25)
    out["jawRight"] = ramp(-sideways, 0.03, 0.25)
    return {k: float(round(out[k], 4)) for k in BLENDSHAPE_KEYS}


def blendshapes_from_mesh(landmarks: np.ndarray) -> dict[str, float]:
    """The blendshapes of one 478x3 (or 468x3) MediaPipe mesh in pixels."""
    return blendshapes_from_points(np.asarray(landmarks)[:, :2], MESH_SCHEME)


def head_pose_from_mesh(landmarks: np.ndarray) -> dict[str, float]:
    """Yaw, pitch, roll in degrees from the mesh's own 3D axes (see the module docstring)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    right = pts[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left = pts[list(LEFT_EYE_CORNERS)].mean(axis=0)
    ex = left - right
    ex /= np.linalg.norm(ex)
    down = pts[152] - pts[10]  # forehead -> chin
    ey = down - (down @ ex) * ex
    ey /= np.linalg.norm(ey)
    forward = -np.cross(ex, ey)  # points from the face toward the camera (-z in MediaPipe depth)
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], -forward[2]))
    roll = math.degrees(math.atan2(ex[1], ex[0]))
    return {"yaw": round(yaw, 2), "pitch": round(pitch, 2), "roll": round(roll, 2)}
