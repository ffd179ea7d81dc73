"""Phones to mouth shapes: a coarticulated MouthTrack for any language.

Each phone's target mouth and dominance come from the phone inventory
(speech/inventory.py: IPA, espeak-ng and ARPAbet labels alike); the mouth at
any instant is the dominance-weighted blend of nearby targets (Cohen &
Massaro style), so it anticipates the next phone and carries over the last.
Lip rounding and spreading anticipate further ahead (about 100 ms) than the
jaw. Then hard rules:
- the lips meet only on bilabials (closed on time: the hold starts a little
  before the phone) and in pauses long enough to rest (LONG_SILENCE_S);
- every other speech sound keeps them apart (JAW_APART); quiet audio alone
  never presses them;
- F/V tuck the lower lip.
Django-free.

Parameter meaning (MouthParams): jaw_open 0 closed .. 1 widest (AA);
lip_width -1 narrowed/pursed .. +1 spread (EE); rounding 0..1 protrusion;
upper_lip_raise 0..1; lip_press 0..1 lips pressed shut; lower_lip_tuck 0..1
lower lip under the upper teeth; teeth 0..1 upper-teeth visibility;
tongue 0..1 tongue tip visible.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from generation.pipeline.speech.inventory import (
    ARPABET_IPA,
    LABIODENTAL,
    dominance,
    mouth_target,
    offglide_target,
    phone_info,
)
from generation.pipeline.speech.phonemes import SILENCE
from generation.pipeline.types import MouthParams, MouthTrack, PhoneTimeline

PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(MouthParams))
NEUTRAL = MouthParams()
# The ARPAbet table (PocketSphinx labels), kept for callers that list it.
VISEMES: dict[str, MouthParams] = {ph: mouth_target(ph) for ph in [*ARPABET_IPA, SILENCE]}

ANTICIPATION_S = 0.06  # reach of a phone's jaw/tongue shape before its start
CARRYOVER_S = 0.035  # reach after its end
LIP_ANTICIPATION_S = 0.1  # rounding/spreading reach: lips round ~100 ms ahead of a rounded vowel
LONG_SILENCE_S = 0.15  # pauses at least this long relax to the closed neutral mouth
SHORT_PAUSE_DOMINANCE = 0.03  # short pauses keep the neighbours' shape
SUBSAMPLES = 4  # evaluations per output frame, averaged (no aliasing of short phones)
SMOOTH_SIGMA_S = 0.015
BILABIAL_LEAD_S = 0.02  # the lips are shut this long before a bilabial starts
EASE = 1.6  # frames beside a closure close by this times the share of their interval it covers (at most ~0.8)
EASE_QUIET, QUIET_ENERGY = 0.8, 0.5  # ... or up to EASE_QUIET as their loudness falls below QUIET_ENERGY
JAW_APART = 0.16  # least jaw opening on non-bilabial speech: the lips never touch there
# The jaw follows loudness: each phone's opening is scaled by BASE + GAIN * energy (at most MAX),
# plus ADD * energy whatever the phone (a loud close vowel still drops the jaw a little), so
# aperture tracks the audio's RMS (issue 17: correlation >= 0.6).
JAW_ENERGY_BASE, JAW_ENERGY_GAIN, JAW_ENERGY_MAX, JAW_ENERGY_ADD = 0.1, 1.2, 1.3, 0.25
_SCALED = ("jaw_open", "lip_width", "rounding", "upper_lip_raise", "lower_lip_tuck", "teeth", "tongue")
_LIP_SHAPE = ("lip_width", "rounding")
_LOWER = np.array([-1.0 if n == "lip_width" else 0.0 for n in PARAM_NAMES])
_IDX = {n: i for i, n in enumerate(PARAM_NAMES)}
_LIP_COLS = np.array([_IDX[n] for n in _LIP_SHAPE])
_ALL_COLS = np.arange(len(PARAM_NAMES))


def _vec(params: MouthParams) -> np.ndarray:
    return np.array([getattr(params, n) for n in PARAM_NAMES], dtype=np.float64)


def viseme(phone: str) -> MouthParams:
    """The target mouth of a phone label (any inventory label; unknown: a neutral consonant)."""
    return mouth_target(phone)


def _blend(timeline: PhoneTimeline, times: np.ndarray, anticipation: float, cols: np.ndarray = _ALL_COLS) -> np.ndarray:
    """Dominance-weighted blend of phone targets (their ``cols``) at ``times`` -> (len(times), len(cols))."""
    n_params = len(cols)
    num = np.zeros((len(times), n_params))
    den = np.full(len(times), 1e-9)
    reach = 4.0 * max(anticipation, CARRYOVER_S)
    for ph in timeline.phones:
        info = phone_info(ph.label)
        dur = max(ph.end - ph.start, 1e-3)
        alpha = dominance(ph.label)
        if info.is_pause and dur < LONG_SILENCE_S:
            alpha = SHORT_PAUSE_DOMINANCE
        lo, hi = np.searchsorted(times, [ph.start - reach, ph.end + reach])
        if hi <= lo:
            continue
        t = times[lo:hi]
        # Full dominance across the phone's middle; Gaussian tails outside it so
        # the next phone is anticipated and the last one carried over.
        core_a, core_b = ph.start + 0.2 * dur, ph.end - 0.2 * dur
        before = np.clip(core_a - t, 0.0, None) / (anticipation + 0.2 * dur)
        after = np.clip(t - core_b, 0.0, None) / (CARRYOVER_S + 0.2 * dur)
        dom = alpha * np.exp(-(before**2 + after**2) * 2.0)
        target = np.broadcast_to(_vec(mouth_target(ph.label))[cols], (len(t), n_params))
        glide = offglide_target(ph.label)
        if glide is not None:
            progress = np.clip((t - ph.start) / dur, 0.0, 1.0)
            w = (progress * progress * (3.0 - 2.0 * progress))[:, None] * 0.8
            target = (1.0 - w) * target + w * _vec(glide)[cols]
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


def _frame_span(start: float, end: float, fps: int, n: int) -> range:
    """Frames whose centre lies in [start, end), or the frame nearest the middle."""
    first = int(np.ceil(start * fps - 0.5))
    last = int(np.ceil(end * fps - 0.5)) - 1
    centre = int(np.clip(round((start + end) / 2.0 * fps - 0.5), 0, n - 1))
    return range(max(0, min(first, centre)), min(n - 1, max(last, centre)) + 1)


def _keep_apart(track: np.ndarray, timeline: PhoneTimeline, fps: int, floor: float) -> None:
    """Non-bilabial speech frames keep the jaw open enough that the lips stay apart."""
    n = len(track)
    jaw, press = _IDX["jaw_open"], _IDX["lip_press"]
    for ph in timeline.phones:
        info = phone_info(ph.label)
        if info.is_pause or info.is_bilabial or info.kind == LABIODENTAL:
            continue
        for i in _frame_span(ph.start, ph.end, fps, n):
            track[i, jaw] = max(track[i, jaw], floor)
            track[i, press] = 0.0


def _overlap(a: float, b: float, fps: int, i: int) -> float:
    """The share of frame ``i``'s interval [i, i+1)/fps that lies inside [a, b] (seconds)."""
    return max(0.0, min(b, (i + 1) / fps) - max(a, i / fps)) * fps


def _constrain(track: np.ndarray, timeline: PhoneTimeline, fps: int, energy: np.ndarray) -> None:
    """Bilabials close and F/V tuck over their span, whatever the smoothing did."""
    n = len(track)
    jaw, press, tuck = _IDX["jaw_open"], _IDX["lip_press"], _IDX["lower_lip_tuck"]
    for ph in timeline.phones:
        info = phone_info(ph.label)
        if info.is_bilabial:
            start = ph.start - BILABIAL_LEAD_S
        elif info.kind == LABIODENTAL:
            start = ph.start
        else:
            continue
        core = _frame_span(start, ph.end, fps, n)
        for i in core:
            if info.is_bilabial:
                track[i, press] = 1.0
                for name in ("jaw_open", "lower_lip_tuck", "teeth", "tongue"):
                    track[i, _IDX[name]] = 0.0
            else:
                track[i, tuck] = max(track[i, tuck], 0.9)
                track[i, jaw] = min(track[i, jaw], 0.15)
        # The frames either side lean toward the closure by the share of their interval it
        # covers, or by how quiet they are (a quiet neighbour is likely still the closure, whose
        # timing a recogniser may have missed by a frame); a loud one is the vowel, open.
        for i in (core.start - 1, core.stop):
            if 0 <= i < n:
                quiet = EASE_QUIET * min(1.0, max(0.0, (QUIET_ENERGY - float(energy[i])) / QUIET_ENERGY)) if len(energy) else 0.5
                share = max(EASE * _overlap(start, ph.end, fps, i), quiet)
                if info.is_bilabial:
                    track[i, press] = max(track[i, press], share)
                    track[i, jaw] *= 1.0 - share
                else:
                    track[i, tuck] = max(track[i, tuck], share, 0.5)


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

    ``intensity`` scales every movement except the bilabial closure and the
    lips-apart floor (calm ~0.7, natural 1.0, expressive ~1.3).
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    if frame_count <= 0:
        return MouthTrack(fps=fps, frames=[], energy=np.zeros(0, dtype=np.float32))
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES
    times = ((np.arange(frame_count)[:, None] + offsets[None, :]) / float(fps)).ravel()
    values = _blend(timeline, times, ANTICIPATION_S).reshape(frame_count, SUBSAMPLES, -1).mean(axis=1)
    values[:, _LIP_COLS] = _blend(timeline, times, LIP_ANTICIPATION_S, _LIP_COLS).reshape(frame_count, SUBSAMPLES, -1).mean(axis=1)
    values = _gaussian_smooth(values, SMOOTH_SIGMA_S * fps)
    energy = frame_energy(timeline, fps, frame_count)
    if len(timeline.envelope):
        # The jaw follows the voice: loud syllables open wide, quiet ones less.
        # It never closes the lips by itself (the floor below keeps them apart).
        values[:, _IDX["jaw_open"]] *= np.clip(JAW_ENERGY_BASE + JAW_ENERGY_GAIN * energy, 0.0, JAW_ENERGY_MAX)
        values[:, _IDX["jaw_open"]] += JAW_ENERGY_ADD * energy * (1.0 - np.clip(values[:, _IDX["lip_press"]], 0.0, 1.0))
    for name in _SCALED:
        values[:, _IDX[name]] *= intensity
    _keep_apart(values, timeline, fps, JAW_APART)
    _constrain(values, timeline, fps, energy if len(timeline.envelope) else np.zeros(0))
    values = np.clip(values, _LOWER, 1.0)
    frames = [MouthParams(**{n: float(v) for n, v in zip(PARAM_NAMES, row)}) for row in values]
    return MouthTrack(fps=fps, frames=frames, energy=energy)
