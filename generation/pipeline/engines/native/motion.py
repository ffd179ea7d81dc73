"""Life signals for a clip: blinks, gaze, head motion, breathing, emotion and style.

Everything is planned once per job for the whole clip (the speech energy is
known up front), so it is reproducible for a seed and provably drift-free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from generation.pipeline.engines.native import eyes, head
from generation.pipeline.engines.native.roi import box_around

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StyleScales:
    head: float  # head-motion amplitude
    blink_interval: float  # multiplies the 2-6 s blink spacing
    mouth: float  # viseme intensity


STYLE_SCALES = {
    "calm": StyleScales(head=0.55, blink_interval=1.2, mouth=0.85),
    "natural": StyleScales(head=1.0, blink_interval=1.0, mouth=1.0),
    "expressive": StyleScales(head=1.6, blink_interval=0.85, mouth=1.15),
}


def style_scales(style: str) -> StyleScales:
    return STYLE_SCALES.get(style, STYLE_SCALES["natural"])


@dataclass(frozen=True)
class EmotionPose:
    """Expression offsets (see rig.displace_points for their units)."""

    smile: float = 0.0  # mouth corners up/out (negative: down, a frown)
    brow_raise: float = 0.0  # whole brows up (negative: down/frown)
    brow_inner: float = 0.0  # inner brow ends up (sad) / down-in (negative, angry)
    brow_outer: float = 0.0  # outer brow ends up (the arch of surprise)
    lid_open: float = 0.0  # eyes widened (negative: narrowed)
    cheek: float = 0.0  # cheeks raised
    lower_lip_up: float = 0.0  # lower lip pushed up by the chin (a pout)
    lip_press: float = 0.0
    jaw: float = 0.0
    gaze_down: float = 0.0  # eyes lowered (eye widths)
    unsmile: float = 0.0  # share of the photo's own smile flattened out


EMOTION_POSES = {
    "neutral": EmotionPose(),
    "happy": EmotionPose(smile=1.2, brow_raise=0.15, lid_open=-0.6, cheek=1.0),
    # Sad: inner brow ends well up (the oblique brows), heavy upper lids, eyes down, corners down.
    "sad": EmotionPose(smile=-1.8, brow_inner=3.0, brow_raise=0.2, lid_open=-1.5, gaze_down=0.2, unsmile=1.0),
    "angry": EmotionPose(smile=-1.0, brow_raise=-2.1, brow_inner=-2.2, lid_open=-0.8, lip_press=0.4, unsmile=1.0),
    # Surprised: brows up as a whole and arched (inner and outer raisers), upper lids up off the iris,
    # the jaw dropped, and any smile of the photo's own let go.
    "surprised": EmotionPose(brow_raise=2.0, brow_inner=0.7, brow_outer=1.0, lid_open=1.1, jaw=0.15, unsmile=1.0),
}


GEOMETRIC_FULL_SMILE = 0.14  # a closed-lip seam this far (IOD units) below a neutral mouth's reads as a full smile


def source_smile(expression: dict | None, smile_curve_iod: float = 0.0) -> float:
    """How much the photo already smiles (0..1): from its ARKit blendshapes when an expression
    engine read them, else from the mesh (how far the lip seam's middle sags below its corners,
    ``rig.smile_curve`` over the inter-ocular distance)."""
    if not expression:
        return float(np.clip(smile_curve_iod / GEOMETRIC_FULL_SMILE, 0.0, 1.0))
    vals = [float(expression.get(k, 0.0) or 0.0) for k in ("mouthSmileLeft", "mouthSmileRight")]
    return float(np.clip(np.mean(vals), 0.0, 1.0))


@dataclass
class MotionPlan:
    """Per-frame life signals for a whole clip."""

    blink: np.ndarray  # (n,) eyelid closure 0..1
    angle: np.ndarray  # (n,) in-plane head roll, radians
    shift: np.ndarray  # (n, 2) head translation in inter-ocular units (x right, y down)
    emotion: np.ndarray  # (n,) 0..1 how strongly the emotion shows in the mouth and cheeks
    pose: EmotionPose
    scales: StyleScales
    yaw: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (n,) out-of-plane turn, radians
    pitch: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (n,) nod, radians (down +)
    gaze: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (n, 2) eye widths
    emotion_upper: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (n,) same for brows and eyes


def blink_curve(frame_count: int, fps: int, rng: np.random.Generator, interval_scale: float = 1.0) -> np.ndarray:
    """Blinks every 2-6 s: close in ~60 ms, hold ~30 ms, open in ~90 ms.

    Each blink starts so that one frame lands in the fully-closed hold.
    """
    out = np.zeros(frame_count, dtype=np.float32)
    t = rng.uniform(0.6, 2.5)
    duration = frame_count / float(fps)
    close, hold, open_ = 0.06, 0.03, 0.09
    while t < duration:
        peak_frame = int(round(t * fps))
        start = peak_frame / float(fps) - close - 0.01
        for f in range(max(0, int(start * fps) - 1), min(frame_count, int((start + close + hold + open_) * fps) + 2)):
            dt = f / float(fps) - start
            if 0 <= dt < close:
                v = dt / close
            elif close <= dt < close + hold:
                v = 1.0
            elif close + hold <= dt < close + hold + open_:
                v = 1.0 - (dt - close - hold) / open_
            else:
                continue
            out[f] = max(out[f], v)
        t += rng.uniform(2.0, 6.0) * interval_scale
    return out



def plan_motion(frame_count: int, fps: int, energy: np.ndarray, *, emotion: str = "neutral", style: str = "natural", seed: int = 0) -> MotionPlan:
    """All life signals of one clip, zero-mean and bounded (no drift)."""
    rng = np.random.default_rng(seed)
    scales = style_scales(style)
    n = frame_count
    e = np.zeros(n) if len(energy) == 0 else np.interp(np.arange(n), np.linspace(0, n - 1, len(energy)), energy) if len(energy) != n else energy.astype(np.float64)
    e = np.clip(e, 0.0, 1.0)
    blink = blink_curve(n, fps, rng, scales.blink_interval)

    slow = head.smooth(e, fps, 0.35)
    fast = head.smooth(e, fps, 0.08)
    # In-plane sway (the nods themselves are out of plane, in head.plan_head); silence breathes.
    emphasis = np.clip(fast - head.smooth(e, fps, 1.0), 0.0, None)
    t = np.arange(n) / float(fps)
    breathing = np.sin(2 * np.pi * 0.23 * t + rng.uniform(0, 2 * np.pi)) * (1.0 - np.clip(slow * 2, 0, 1))
    talk = 0.35 + 0.65 * np.clip(slow * 1.5, 0, 1)
    angle = np.deg2rad(1.3) * (head.smooth_noise(n, fps, rng, (0.11, 0.23, 0.41)) * talk)
    sx = 0.035 * head.smooth_noise(n, fps, rng, (0.09, 0.19, 0.33)) * talk
    sy = 0.02 * head.smooth_noise(n, fps, rng, (0.13, 0.29)) * talk + 0.03 * emphasis + 0.006 * breathing
    angle, sx, sy = (np.clip(a - (a.mean() if n else 0.0), -lim, lim) * scales.head for a, lim in ((angle, np.deg2rad(2.5)), (sx, 0.06), (sy, 0.05)))
    if n:
        # Re-centre after clipping so the clip mean stays exactly zero.
        angle, sx, sy = angle - angle.mean(), sx - sx.mean(), sy - sy.mean()
    # Separate streams: the head and eyes plans do not reshuffle the blinks and sway.
    yaw, pitch = head.plan_head(n, fps, e, np.random.default_rng([seed, 1]), scales.head)
    gaze = eyes.plan_gaze(n, fps, blink, np.random.default_rng([seed, 2]))

    # Emotion eases in over ~0.6 s and lives: it swells with speech and wanders a
    # little, the brows and eyes on their own curve (never one frozen offset).
    ramp = np.clip(t / 0.6, 0.0, 1.0)
    live = np.random.default_rng([seed, 3])
    emo = ramp * np.clip(0.85 + 0.12 * np.clip(slow * 2, 0, 1) + 0.08 * head.smooth_noise(n, fps, live, (0.07, 0.19)), 0.0, 1.0)
    peaks = emphasis / max(1e-6, float(emphasis.max(initial=0.0)))
    upper = ramp * np.clip(0.85 + 0.1 * peaks + 0.1 * head.smooth_noise(n, fps, live, (0.09, 0.23)), 0.0, 1.0)
    return MotionPlan(
        blink=blink.astype(np.float32),
        angle=angle.astype(np.float32),
        shift=np.stack([sx, sy], 1).astype(np.float32),
        emotion=emo.astype(np.float32),
        pose=EMOTION_POSES.get(emotion, EMOTION_POSES["neutral"]),
        scales=scales,
        yaw=yaw.astype(np.float32),
        pitch=pitch.astype(np.float32),
        gaze=gaze.astype(np.float32),
        emotion_upper=upper.astype(np.float32),
    )


def head_matrix(angle: float, shift_px: tuple[float, float], pivot: tuple[float, float]) -> np.ndarray:
    """2x3 similarity: rotate by ``angle`` about ``pivot`` then translate."""
    c, s = np.cos(angle), np.sin(angle)
    px, py = pivot
    return np.array([[c, -s, px - c * px + s * py + shift_px[0]], [s, c, py - s * px - c * py + shift_px[1]]], dtype=np.float64)


def apply_matrix(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def sample_lid_colours(image: np.ndarray, upper_lid: np.ndarray, up_axis: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """(eyelid skin, lash line) BGR colours of one eye, from the photo itself."""
    import cv2

    h, w = image.shape[:2]
    centre = upper_lid.mean(0) + up_axis * 0.12 * iod
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (int(round(centre[0])), int(round(centre[1]))), max(1, int(0.05 * iod)), 255, -1)
    skin = np.array(cv2.mean(image, mask=mask)[:3]) if mask.any() else np.array([140.0, 160.0, 200.0])
    xs = np.clip(np.round(upper_lid[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(upper_lid[:, 1]).astype(int), 0, h - 1)
    line = image[ys, xs].astype(np.float64)
    dark = line[np.argsort(line.sum(1))[: max(1, len(line) // 3)]].mean(0)
    return skin, 0.5 * dark + 0.5 * skin * 0.45


def paint_lid(roi: np.ndarray, origin: tuple[int, int], rest_upper: np.ndarray, new_upper: np.ndarray, lid: np.ndarray,
              lash: np.ndarray, amount: float, iod: float, up_axis: np.ndarray) -> None:
    """Cover what a lowering upper lid hides with eyelid skin and a soft lash line (in place).

    ``rest_upper``/``new_upper`` run corner to corner; the sheet between them is lid.
    """
    import cv2

    if amount <= 0.02:
        return
    top = rest_upper + up_axis * 0.03 * iod  # also cover the original lash line
    poly = np.concatenate([top, new_upper[::-1]])
    ox, oy = origin
    x0, y0, x1, y1 = box_around(poly, origin, roi.shape, pad=2)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    off = np.array([ox + x0, oy + y0], dtype=np.float64)
    sheet = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(sheet, [np.round((poly - off) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    lash_mask = np.zeros_like(sheet)
    thick = max(1, int(round(0.02 * iod)))
    n = len(new_upper)
    lash_pts = new_upper[max(1, n // 6): n - max(1, n // 8)]
    cv2.polylines(lash_mask, [np.round((lash_pts - off) * 16).astype(np.int32)], False, 255, thick, cv2.LINE_AA, 4)
    k = max(3, int(0.06 * iod) | 1)  # soft upper edge: the lid blends into the skin above
    a_sheet = (cv2.GaussianBlur(sheet, (k, k), 0).astype(np.float32) / 255.0)[..., None]
    # Lashes are a soft dark fringe, not a drawn line: blurred in proportion to the face, and thinning out
    # toward the corners.
    kl = max(3, int(0.02 * iod) | 1)
    span = new_upper[:, 0].min(), new_upper[:, 0].max()
    along = np.clip((np.arange(x0, x1, dtype=np.float32) + ox - span[0]) / max(1.0, span[1] - span[0]), 0.0, 1.0)
    taper = (0.5 + 0.5 * np.sqrt(np.clip(np.sin(np.pi * along), 0.0, 1.0)))[None, :, None]
    a_lash = (cv2.GaussianBlur(lash_mask, (kl, kl), 0).astype(np.float32) / 255.0)[..., None] * taper * min(1.0, amount * 1.3)
    # The lid is a little darker toward its edge (it curves away from the light).
    ys = np.arange(y0, y1, dtype=np.float32)[:, None, None] + oy
    edge_y = float(new_upper[:, 1].mean())
    top_y = float(top[:, 1].mean())
    shade = 1.05 - 0.2 * np.clip((ys - top_y) / max(1.0, edge_y - top_y), 0, 1)
    # Lid texture: the skin just above the lid, mirrored down over the sheet.
    order = np.argsort(top[:, 0])
    xs = np.arange(x0, x1, dtype=np.float32) + ox
    top_line = np.interp(xs, top[order, 0], top[order, 1]).astype(np.float32) - oy
    map_x = np.broadcast_to(xs[None, :] - ox, (y1 - y0, x1 - x0)).astype(np.float32)
    map_y = (2.0 * top_line[None, :] - np.arange(y0, y1, dtype=np.float32)[:, None]).astype(np.float32)
    mirror = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    texture = 0.6 * mirror + 0.4 * lid.astype(np.float32)
    region = roi[y0:y1, x0:x1].astype(np.float32)
    region = region * (1 - a_sheet) + (texture * shade) * a_sheet
    region = region * (1 - a_lash) + lash.astype(np.float32) * a_lash
    roi[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)
