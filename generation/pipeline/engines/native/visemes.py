"""Phones to mouth shapes: the viseme table and a coarticulated MouthTrack.

Each phone has a target mouth (MouthParams) and a dominance; the mouth at
any instant is the dominance-weighted blend of nearby targets (Cohen &
Massaro style), so it anticipates the next phone and carries over the
last. Bilabial closures and F/V lip tucks are then enforced as hard
constraints so short consonants are never smoothed away. Django-free.

Parameter meaning (MouthParams): jaw_open 0 closed .. 1 widest (AA);
lip_width -1 narrowed/pursed .. +1 spread (EE); rounding 0..1 protrusion;
upper_lip_raise 0..1; lip_press 0..1 lips pressed shut; lower_lip_tuck 0..1
lower lip under the upper teeth; teeth 0..1 upper-teeth visibility;
tongue 0..1 tongue tip visible.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from generation.pipeline.speech.phonemes import ARPABET, BILABIALS, SILENCE
from generation.pipeline.types import MouthParams, MouthTrack, PhoneTimeline

PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(MouthParams))
NEUTRAL = MouthParams()

# Targets; unspecified parameters are 0.
_TABLE_SPEC: dict[str, dict[str, float]] = {
    # Open vowels by height: AA widest.
    "AA": dict(jaw_open=1.0, lip_width=0.1, teeth=0.3),
    "AE": dict(jaw_open=0.8, lip_width=0.4, teeth=0.5, upper_lip_raise=0.2),
    "AO": dict(jaw_open=0.8, lip_width=-0.3, rounding=0.5, teeth=0.2),
    "AW": dict(jaw_open=0.85, lip_width=0.0, rounding=0.1, teeth=0.3),
    "AY": dict(jaw_open=0.85, lip_width=0.15, teeth=0.3),
    # Mid vowels.
    "AH": dict(jaw_open=0.6, lip_width=0.1, teeth=0.3),
    "EH": dict(jaw_open=0.55, lip_width=0.35, teeth=0.5),
    "ER": dict(jaw_open=0.35, lip_width=-0.2, rounding=0.4, teeth=0.3),
    "EY": dict(jaw_open=0.45, lip_width=0.45, teeth=0.5),
    "OW": dict(jaw_open=0.5, lip_width=-0.5, rounding=0.8),
    "OY": dict(jaw_open=0.55, lip_width=-0.4, rounding=0.7),
    # Close vowels: small opening.
    "IH": dict(jaw_open=0.3, lip_width=0.45, teeth=0.5),
    "IY": dict(jaw_open=0.2, lip_width=0.7, teeth=0.6),
    "UH": dict(jaw_open=0.3, lip_width=-0.5, rounding=0.7),
    "UW": dict(jaw_open=0.2, lip_width=-0.8, rounding=1.0),
    # Bilabials: lips pressed shut.
    "P": dict(lip_press=1.0),
    "B": dict(lip_press=1.0),
    "M": dict(lip_press=1.0),
    # Labiodentals: lower lip to the upper teeth.
    "F": dict(jaw_open=0.1, lip_width=0.1, lower_lip_tuck=1.0, teeth=0.9, upper_lip_raise=0.3),
    "V": dict(jaw_open=0.1, lip_width=0.1, lower_lip_tuck=1.0, teeth=0.9, upper_lip_raise=0.3),
    # Tongue-tip consonants.
    "TH": dict(jaw_open=0.25, tongue=1.0, teeth=0.7),
    "DH": dict(jaw_open=0.25, tongue=1.0, teeth=0.7),
    "L": dict(jaw_open=0.3, tongue=1.0, teeth=0.5),
    "T": dict(jaw_open=0.2, lip_width=0.2, tongue=0.6, teeth=0.6),
    "D": dict(jaw_open=0.2, lip_width=0.2, tongue=0.6, teeth=0.6),
    "N": dict(jaw_open=0.2, lip_width=0.15, tongue=0.6, teeth=0.5),
    # Sibilants: teeth together and visible.
    "S": dict(jaw_open=0.1, lip_width=0.4, teeth=1.0),
    "Z": dict(jaw_open=0.1, lip_width=0.4, teeth=1.0),
    "SH": dict(jaw_open=0.2, lip_width=-0.3, rounding=0.6, teeth=0.8, upper_lip_raise=0.3),
    "ZH": dict(jaw_open=0.2, lip_width=-0.3, rounding=0.6, teeth=0.8, upper_lip_raise=0.3),
    "CH": dict(jaw_open=0.2, lip_width=-0.3, rounding=0.6, teeth=0.8, upper_lip_raise=0.3),
    "JH": dict(jaw_open=0.2, lip_width=-0.3, rounding=0.6, teeth=0.8, upper_lip_raise=0.3),
    # Back consonants and glides.
    "K": dict(jaw_open=0.3, lip_width=0.1, teeth=0.3),
    "G": dict(jaw_open=0.3, lip_width=0.1, teeth=0.3),
    "NG": dict(jaw_open=0.25, lip_width=0.1, teeth=0.3),
    "HH": dict(jaw_open=0.4, teeth=0.2),
    "R": dict(jaw_open=0.25, lip_width=-0.3, rounding=0.5, teeth=0.2),
    "W": dict(jaw_open=0.1, lip_width=-0.9, rounding=1.0),
    "Y": dict(jaw_open=0.15, lip_width=0.5, teeth=0.5),
    SILENCE: {},
}
VISEMES: dict[str, MouthParams] = {ph: MouthParams(**spec) for ph, spec in _TABLE_SPEC.items()}
assert set(VISEMES) == set(ARPABET) | {SILENCE}

# Diphthongs glide from their onset (the table entry) to this offset.
_DIPHTHONG_END = {"AW": "UH", "AY": "IY", "EY": "IY", "OW": "UW", "OY": "IY"}

# How strongly a phone holds its shape against neighbours. Low: it borrows
# the neighbours' shape (HH before a vowel, K/G whose lips are free).
_DOMINANCE = {ph: 1.0 for ph in VISEMES}
_DOMINANCE.update({"P": 3.0, "B": 3.0, "M": 3.0, "F": 2.5, "V": 2.5, "W": 2.0, "UW": 1.5, "OW": 1.3,
                   "SH": 1.5, "CH": 1.5, "JH": 1.5, "ZH": 1.5, "HH": 0.2, "K": 0.5, "G": 0.5, "NG": 0.6,
                   "T": 0.7, "D": 0.7, "N": 0.7, "Y": 0.8, "R": 0.8, SILENCE: 1.5})
ANTICIPATION_S = 0.05  # reach of a phone before its start
CARRYOVER_S = 0.035  # reach after its end
LONG_SILENCE_S = 0.15  # pauses at least this long relax to the closed neutral mouth
SHORT_PAUSE_DOMINANCE = 0.03  # short pauses keep the neighbours' shape
SUBSAMPLES = 4  # evaluations per output frame, averaged (no aliasing of short phones)
SMOOTH_SIGMA_S = 0.015
QUIET_ENERGY = 0.2  # frame energy (0..1) below which the lips start to close
_SCALED = ("jaw_open", "lip_width", "rounding", "upper_lip_raise", "lower_lip_tuck", "teeth", "tongue")
_LOWER = np.array([-1.0 if n == "lip_width" else 0.0 for n in PARAM_NAMES])


def _vec(params: MouthParams) -> np.ndarray:
    return np.array([getattr(params, n) for n in PARAM_NAMES], dtype=np.float64)


_TARGETS = {ph: _vec(p) for ph, p in VISEMES.items()}
_IDX = {n: i for i, n in enumerate(PARAM_NAMES)}


def viseme(phone: str) -> MouthParams:
    """The target mouth of a phone label (unknown labels: neutral)."""
    return VISEMES.get(phone, NEUTRAL)


def _blend(timeline: PhoneTimeline, times: np.ndarray) -> np.ndarray:
    """Dominance-weighted blend of phone targets at ``times`` -> (len(times), n_params)."""
    n_params = len(PARAM_NAMES)
    num = np.zeros((len(times), n_params))
    den = np.full(len(times), 1e-9)
    reach = 4.0 * max(ANTICIPATION_S, CARRYOVER_S)
    for ph in timeline.phones:
        label = ph.label if ph.label in _TARGETS else SILENCE
        dur = max(ph.end - ph.start, 1e-3)
        alpha = _DOMINANCE[label]
        if label == SILENCE and dur < LONG_SILENCE_S:
            alpha = SHORT_PAUSE_DOMINANCE
        lo, hi = np.searchsorted(times, [ph.start - reach, ph.end + reach])
        if hi <= lo:
            continue
        t = times[lo:hi]
        # Full dominance across the phone's middle; Gaussian tails outside it so
        # the next phone is anticipated and the last one carried over.
        core_a, core_b = ph.start + 0.2 * dur, ph.end - 0.2 * dur
        before = np.clip(core_a - t, 0.0, None) / (ANTICIPATION_S + 0.2 * dur)
        after = np.clip(t - core_b, 0.0, None) / (CARRYOVER_S + 0.2 * dur)
        dom = alpha * np.exp(-(before**2 + after**2) * 2.0)
        target = np.broadcast_to(_TARGETS[label], (len(t), n_params))
        if label in _DIPHTHONG_END:
            progress = np.clip((t - ph.start) / dur, 0.0, 1.0)
            w = (progress * progress * (3.0 - 2.0 * progress))[:, None] * 0.8
            target = (1.0 - w) * _TARGETS[label] + w * _TARGETS[_DIPHTHONG_END[label]]
        num[lo:hi] += dom[:, None] * target
        den[lo:hi] += dom
    return num / den[:, None]


def _gaussian_smooth(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    if sigma_frames < 0.2 or len(values) < 3:
        return values
    radius = int(np.ceil(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    k /= k.sum()
    padded = np.pad(values, ((radius, radius), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(values.shape[1])], axis=1)


def _constrain(track: np.ndarray, timeline: PhoneTimeline, fps: int) -> None:
    """Bilabials close and F/V tuck at their centre frame, whatever the smoothing did."""
    n = len(track)
    jaw, press, tuck = _IDX["jaw_open"], _IDX["lip_press"], _IDX["lower_lip_tuck"]
    for ph in timeline.phones:
        if ph.label not in BILABIALS and ph.label not in ("F", "V"):
            continue
        first = int(np.ceil(ph.start * fps - 0.5))
        last = int(np.ceil(ph.end * fps - 0.5)) - 1  # frames whose centre lies inside the phone
        centre = int(np.clip(round((ph.start + ph.end) / 2.0 * fps - 0.5), 0, n - 1))
        core = range(max(0, min(first, centre)), min(n - 1, max(last, centre)) + 1)
        for i in core:
            if ph.label in BILABIALS:
                track[i, press] = 1.0
                track[i, jaw] = 0.0
                track[i, tuck] = 0.0
                track[i, _IDX["teeth"]] = 0.0
                track[i, _IDX["tongue"]] = 0.0
            else:
                track[i, tuck] = max(track[i, tuck], 0.9)
                track[i, jaw] = min(track[i, jaw], 0.15)
        # Ease the frames either side toward the closure so it does not pop.
        for i in (core.start - 1, core.stop):
            if 0 <= i < n:
                if ph.label in BILABIALS:
                    track[i, press] = max(track[i, press], 0.5)
                    track[i, jaw] *= 0.5
                else:
                    track[i, tuck] = max(track[i, tuck], 0.5)


def frame_energy(timeline: PhoneTimeline, fps: int, frame_count: int) -> np.ndarray:
    """The timeline's loudness envelope averaged over each output frame (0..1)."""
    if len(timeline.envelope) == 0 or frame_count == 0:
        return np.zeros(frame_count, dtype=np.float32)
    edges = np.arange(frame_count + 1) / float(fps)
    cum = np.concatenate([[0.0], np.cumsum(timeline.envelope)])
    # Mean of the envelope samples whose centres fall inside each frame; interpolate when none do.
    idx = np.searchsorted(timeline.envelope_times, edges)
    counts = np.diff(idx)
    sums = cum[idx[1:]] - cum[idx[:-1]]
    centres = (edges[:-1] + edges[1:]) / 2.0
    interp = np.interp(centres, timeline.envelope_times, timeline.envelope, left=0.0, right=0.0)
    energy = np.where(counts > 0, sums / np.maximum(counts, 1), interp)
    return np.clip(energy, 0.0, 1.0).astype(np.float32)


def mouth_track(timeline: PhoneTimeline, fps: int, frame_count: int, *, intensity: float = 1.0) -> MouthTrack:
    """Exactly ``frame_count`` mouth shapes at ``fps`` for the timeline.

    ``intensity`` scales every movement except the bilabial closure
    (calm ~0.7, natural 1.0, expressive ~1.3).
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    if frame_count <= 0:
        return MouthTrack(fps=fps, frames=[], energy=np.zeros(0, dtype=np.float32))
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES
    times = ((np.arange(frame_count)[:, None] + offsets[None, :]) / float(fps)).ravel()
    values = _blend(timeline, times).reshape(frame_count, SUBSAMPLES, -1).mean(axis=1)
    values = _gaussian_smooth(values, SMOOTH_SIGMA_S * fps)
    energy = frame_energy(timeline, fps, frame_count)
    if len(timeline.envelope):
        # The jaw follows the voice: loud syllables open wide, quiet ones barely.
        # Lips come together where the sound nearly stops (stop closures, pauses),
        # which also catches bilabials a phone recogniser missed.
        jaw = _IDX["jaw_open"]
        values[:, jaw] *= np.clip(0.3 + 0.95 * np.sqrt(energy), 0.0, 1.15)
        quiet = np.clip((QUIET_ENERGY - energy) / QUIET_ENERGY, 0.0, 1.0)
        values[:, _IDX["lip_press"]] = np.maximum(values[:, _IDX["lip_press"]], 0.85 * quiet)
        values[:, jaw] *= 1.0 - 0.8 * quiet
    for name in _SCALED:
        values[:, _IDX[name]] *= intensity
    _constrain(values, timeline, fps)
    values = np.clip(values, _LOWER, 1.0)
    frames = [MouthParams(**{n: float(v) for n, v in zip(PARAM_NAMES, row)}) for row in values]
    return MouthTrack(fps=fps, frames=frames, energy=energy)
