"""Out-of-plane head motion: yaw and pitch of the face mesh in depth, planned from the speech.

The mesh's depth (MediaPipe z, in the same pixel scale as x) lets the face
turn and nod a few degrees: each point is rotated about the neck in 3-D and
projected back (orthographically; a few degrees need no perspective). The
result is a per-point displacement in the face's own axes that the warp adds
to the local motion; the skirt around the face oval spreads it out to the
fixed region border, so hair and neck follow and shoulders stay put.

The plan follows the speech energy: a nod on stressed syllables (energy peaks),
a small turn at phrase boundaries (pause edges), slow wander while talking and
stillness in long pauses. It is zero-mean and bounded, so nothing drifts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

# Sides of the face oval (near the ears): the yaw axis runs through their depth.
OVAL_SIDES = [234, 93, 132, 454, 323, 361, 127, 356]
NOSE_TIP = 1

MAX_YAW_DEG, MAX_PITCH_DEG = 8.0, 5.0  # at style scale 1
PAUSE_ENERGY = 0.1  # smoothed speech energy below this is a pause
LONG_PAUSE_S = 0.8  # pauses at least this long hold the head still
MIN_PAUSE_S = 0.18  # shorter dips are inside a phrase


@dataclass(frozen=True)
class HeadModel:
    """The rest mesh in 3-D face axes (pixels) and the neck pivot it rotates about."""

    rest3: np.ndarray  # (N, 3): along u, along v (down), depth (away from the camera)
    pivot: np.ndarray  # (3,)
    u: np.ndarray
    v: np.ndarray
    origin: np.ndarray  # frame pixels of face-axes (0, 0)

    def to_face3(self, points: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Frame pixels (N, 2) plus depth (N,) -> (N, 3) face-axes points."""
        d = points - self.origin
        return np.stack([d @ self.u, d @ self.v, depth], axis=-1)

    def displacement(self, yaw: float, pitch: float, points3: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) face-axes displacement of ``points3`` (default: the mesh) turned by yaw/pitch (radians).

        Positive yaw turns the face toward image right; positive pitch nods it down.
        """
        p = self.rest3 if points3 is None else points3
        if yaw == 0.0 and pitch == 0.0:
            return np.zeros((len(p), 2))
        r = rotation(yaw, pitch)
        q = (p - self.pivot) @ r.T + self.pivot
        return q[:, :2] - p[:, :2]


def rotation(yaw: float, pitch: float) -> np.ndarray:
    """3x3 rotation in face axes (u right, v down, depth away): pitch about u, then yaw about v."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    # Yaw about the vertical axis: a point in front of the pivot (smaller depth) moves toward +u.
    r_yaw = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])
    # Pitch about the horizontal axis: a point in front of the pivot moves down (+v).
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    return r_yaw @ r_pitch


def build_head(points3: np.ndarray, u: np.ndarray, v: np.ndarray, origin: np.ndarray, iod: float) -> HeadModel:
    """The head model of a (N >= 468, 3) mesh in frame pixels (z on the x pixel scale)."""
    p = np.asarray(points3, dtype=np.float64)
    model = HeadModel(rest3=np.zeros((0, 3)), pivot=np.zeros(3), u=u, v=v, origin=np.asarray(origin, dtype=np.float64))
    rest3 = model.to_face3(p[:, :2], p[:, 2])
    sides = rest3[OVAL_SIDES]
    # The neck: between the ears in depth (a little behind them), at the level of the nose tip
    # plus a third of the face unit (the skull rests on the spine behind the upper lip).
    pivot = np.array([sides[:, 0].mean(), rest3[NOSE_TIP, 1] + 0.3 * iod, sides[:, 2].mean() + 0.15 * iod])
    return HeadModel(rest3=rest3, pivot=pivot, u=u, v=v, origin=model.origin)


def smooth(x: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """``x`` low-passed with a Hann window ``seconds`` wide on each side (edges held)."""
    k = max(1, int(seconds * fps))
    if len(x) == 0 or k == 1:
        return x.astype(np.float64)
    kernel = np.hanning(2 * k + 1)
    kernel /= kernel.sum()
    return np.convolve(np.pad(x.astype(np.float64), k, mode="edge"), kernel, mode="valid")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of True runs."""
    if len(mask) == 0:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def speech_structure(energy: np.ndarray, fps: float) -> tuple[np.ndarray, list[int], list[tuple[int, float]]]:
    """(talking 0..1 per frame, phrase-boundary frames, stressed peaks (frame, prominence 0..1))."""
    n = len(energy)
    slow = smooth(energy, fps, 0.12)
    pause = slow < PAUSE_ENERGY
    # Dips shorter than a real pause stay inside the phrase.
    for a, b in _runs(pause):
        if (b - a) / fps < MIN_PAUSE_S and a > 0 and b < n:
            pause[a:b] = False
    boundaries, still = [], np.zeros(n)
    for a, b in _runs(pause):
        if a > 0:
            boundaries.append(int(a))
        if b < n:
            boundaries.append(int(b))
        if (b - a) / fps >= LONG_PAUSE_S:
            still[a:b] = 1.0
    # Activity eases in and out around long pauses (no sudden freeze).
    talking = np.clip(1.0 - smooth(still, fps, 0.3), 0.0, 1.0)
    # Stressed syllables: local maxima well above the recent average loudness.
    fast = smooth(energy, fps, 0.05)
    context = smooth(energy, fps, 0.6)
    peaks: list[tuple[int, float]] = []
    min_gap = int(0.35 * fps)
    for i in range(1, n - 1):
        prom = fast[i] - context[i]
        if fast[i] >= fast[i - 1] and fast[i] > fast[i + 1] and fast[i] > 0.4 and prom > 0.06:
            if peaks and i - peaks[-1][0] < min_gap:
                if prom > peaks[-1][1]:
                    peaks[-1] = (i, float(prom))
                continue
            peaks.append((i, float(prom)))
    if peaks:
        top = max(p for _, p in peaks)
        peaks = [(i, min(1.0, p / max(top, 1e-6))) for i, p in peaks]
    return talking, boundaries, peaks


def _ease_steps(n: int, times: list[int], values: list[float], width: int) -> np.ndarray:
    """A curve that holds each value and eases (smoothstep over ``width`` frames) to the next at its time."""
    out = np.zeros(n)
    idx = np.arange(n)
    for t, value in zip(times, values):
        s = np.clip((idx - t) / max(1, width), 0.0, 1.0)
        out = out + (value - out) * (s * s * (3 - 2 * s))
    return out


def smooth_noise(n: int, fps: float, rng: np.random.Generator, freqs: tuple[float, ...]) -> np.ndarray:
    """Zero-mean band-limited wander: a few slow sinusoids with random phases."""
    t = np.arange(n) / float(fps)
    out = np.zeros(n)
    for f in freqs:
        out += np.sin(2 * np.pi * f * rng.uniform(0.8, 1.2) * t + rng.uniform(0, 2 * np.pi)) / len(freqs)
    return out


def plan_head(frame_count: int, fps: float, energy: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(yaw, pitch) per frame in radians for a clip whose per-frame speech energy (0..1) is ``energy``."""
    n = frame_count
    if n == 0:
        return np.zeros(0), np.zeros(0)
    e = np.clip(np.asarray(energy, dtype=np.float64)[:n], 0.0, 1.0)
    if len(e) < n:
        e = np.concatenate([e, np.zeros(n - len(e))])
    talking, boundaries, peaks = speech_structure(e, fps)

    # Turns: a new small heading at phrase boundaries (and every few seconds in long phrases),
    # mean-reverting so the head keeps coming back toward the camera.
    times, yaws, pitches = [], [], []
    yaw_t, pitch_t = 0.0, 0.0
    last = -10**9
    gaps = rng.uniform(2.5, 4.5, size=int(n / fps / 2.5) + 2)
    extra = (rng.uniform(0.8, 2.0) + np.concatenate([[0.0], np.cumsum(gaps)])) * fps
    for t in sorted(set(boundaries) | {int(x) for x in extra if x < n}):
        if t - last < int(0.6 * fps) or talking[min(t, n - 1)] < 0.5:
            continue
        # Mostly to the other side (the head keeps coming back past the camera), a few degrees.
        side = -np.sign(yaw_t) if yaw_t and rng.random() < 0.75 else (np.sign(yaw_t) or rng.choice([-1.0, 1.0]))
        yaw_t = float(side * rng.uniform(1.5, 4.5))
        pitch_t = float(np.clip(-0.4 * pitch_t + rng.normal(0.0, 1.0), -MAX_PITCH_DEG, MAX_PITCH_DEG))
        # The turn starts a little before the phrase (people shift in the pause).
        times.append(max(0, t - int(0.15 * fps)))
        yaws.append(yaw_t)
        pitches.append(pitch_t)
        last = t
    width = max(2, int(0.45 * fps))
    yaw = _ease_steps(n, times, yaws, width)
    pitch = _ease_steps(n, times, pitches, width)

    # Wander while talking; none in long pauses.
    yaw += 1.6 * smooth_noise(n, fps, rng, (0.17, 0.31, 0.53)) * talking
    pitch += 0.6 * smooth_noise(n, fps, rng, (0.21, 0.43)) * talking

    # Nods: a quick dip on stressed syllables, led slightly by the head (it anticipates the beat).
    half = 0.2 * fps
    for i, prom in peaks:
        if rng.random() > 0.8:
            continue
        centre = i - 0.05 * fps
        lo, hi = max(0, int(centre - half)), min(n, int(centre + half) + 1)
        x = np.clip((np.arange(lo, hi) - centre) / half, -1.0, 1.0)
        pitch[lo:hi] += (1.6 + 2.2 * prom) * 0.5 * (1 + np.cos(np.pi * x))

    yaw, pitch = np.deg2rad(yaw) * scale, np.deg2rad(pitch) * scale
    yaw -= yaw.mean()
    pitch -= pitch.mean()
    lim_y, lim_p = np.deg2rad(MAX_YAW_DEG) * scale, np.deg2rad(MAX_PITCH_DEG) * scale
    return np.clip(yaw, -lim_y, lim_y), np.clip(pitch, -lim_p, lim_p)
