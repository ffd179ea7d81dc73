"""Bilabial closures found in the signal itself, for audio alone in any language.

PocketSphinx's English phone loop misses many p/b/m in other languages and
voices. A closure has an acoustic signature of its own: the level falls below
the surrounding syllables for a few tens of milliseconds (the silence or voice
bar of a stop, or the murmur of a nasal) and comes back with a release. Tongue
consonants make such dips too; what tells the lips' closure apart is the
spectrum of the dip's last HOLD_S before the release: behind closed lips only
the low voice bar or nasal murmur sounds, while behind the tongue frication
and bursts carry energy above 3 kHz. A tiny logistic model weighs the
low (0-400 Hz), middle (1-3 kHz) and high (3-8 kHz) shares of that tail and
whether the phone loop itself heard a bilabial there (generation/bench/closure_fit.py fits it
on espeak-ng and Festival speech in eight languages; held-out sentences and
voices measure it).

Decoded pauses shorter than SHORT_SILENCE_S inside speech are the silent
closures of tongue stops (``k-t``, ``t-t``), not rests: they keep the lips
apart. The lips are shown shut only for the tail of a bilabial dip, up to the
release. Django-free.
"""

from __future__ import annotations

import numpy as np

from generation.pipeline.speech.inventory import phone_info
from generation.pipeline.speech.phonemes import SILENCE

HOP_S = 0.005
MIN_DEPTH_DB = 8.0  # the dip's floor under the louder of its two neighbouring peaks
NEIGHBOUR_S = 0.15  # where those peaks are looked for
MIN_DIP_S, MAX_DIP_S = 0.02, 0.18
HOLD_S = 0.04  # the tail judged, and shown shut: the end of a dip, up to its release
SHORT_SILENCE_S = 0.15  # decoded silences shorter than this inside speech are stop closures; longer ones rest
STOP_CLOSURE = "ʔ"  # their label: glottal, the lips follow the neighbours and stay apart
BANDS_HZ = ((0, 400), (1000, 3000), (3000, 8000))  # the tail's low, middle and high shares
# Logistic model: dB share of each band in the tail, then 1 if the phone loop heard a bilabial there.
WEIGHTS = (0.2371, 0.2539, -0.1578, 2.2438)
BIAS = 0.9608
MIN_SHARE_DB = -60.0  # band shares are floored here: recordings have a noise floor, pure tones do not
MIN_PROBABILITY = 0.45
HEARD_AT_S = 0.015  # what the phone loop heard this long before the release
_FFT = 1024


def _levels(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    hop = max(1, int(round(HOP_S * sample_rate)))
    n = len(samples) // hop
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    return 10.0 * np.log10((frames**2).mean(axis=1) + 1e-10)


def find_dips(samples: np.ndarray, sample_rate: int) -> list[tuple[float, float]]:
    """(start, end) of consonantal level dips inside speech."""
    level = _levels(samples, sample_rate)
    n = len(level)
    if n < 10:
        return []
    reach = int(NEIGHBOUR_S / HOP_S)
    peak = float(np.percentile(level, 95))
    smooth = np.convolve(level, np.ones(3) / 3.0, mode="same")
    dips: list[tuple[float, float]] = []
    i = 1
    while i < n - 1:
        left = smooth[max(0, i - reach): i].max(initial=-200.0)
        right = smooth[i + 1: i + 1 + reach].max(initial=-200.0)
        floor = min(left, right) - MIN_DEPTH_DB
        if smooth[i] < floor and min(left, right) > peak - 30.0:
            j = i
            while j < n and smooth[j] < floor:
                j += 1
            start, end = i * HOP_S, j * HOP_S
            if MIN_DIP_S <= end - start <= MAX_DIP_S:
                dips.append((start, end))
            i = j + 1
            continue
        i += 1
    return dips


def dip_features(samples: np.ndarray, sample_rate: int, phones: list[tuple[str, float, float]],
                 start: float, end: float) -> np.ndarray:
    """The model's inputs for the dip [start, end] (see WEIGHTS)."""
    tail = max(start, end - HOLD_S)
    chunk = samples[int(tail * sample_rate): int(end * sample_rate)].astype(np.float64)
    shares = [0.0] * len(BANDS_HZ)
    if len(chunk) >= 64:
        spec = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk)), _FFT)) ** 2
        hz = np.fft.rfftfreq(_FFT, 1.0 / sample_rate)
        total = 10.0 * np.log10(spec.sum() + 1e-12)
        shares = [max(MIN_SHARE_DB, 10.0 * np.log10(spec[(hz >= lo) & (hz < hi)].sum() + 1e-12) - total)
                  for lo, hi in BANDS_HZ]
    heard = next((lab for lab, s, e in phones if s <= end - HEARD_AT_S < e), SILENCE)
    return np.array([*shares, float(heard != SILENCE and phone_info(heard).is_bilabial)])


def closure_probability(features: np.ndarray) -> float:
    return float(1.0 / (1.0 + np.exp(-(float(np.dot(WEIGHTS, features)) + BIAS))))


def rest_only_in_pauses(phones: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Decoded silences under SHORT_SILENCE_S between speech become STOP_CLOSURE (see module doc)."""
    out = list(phones)
    for i in range(1, len(out) - 1):
        label, start, end = out[i]
        if label == SILENCE and end - start < SHORT_SILENCE_S and out[i - 1][0] != SILENCE and out[i + 1][0] != SILENCE:
            out[i] = (STOP_CLOSURE, start, end)
    return out


def mark_closures(phones: list[tuple[str, float, float]], samples: np.ndarray,
                  sample_rate: int) -> tuple[list[tuple[str, float, float]], int]:
    """The decoded phones with bilabial dips marked and short silences closed by the tongue; (phones, how many dips)."""
    out = rest_only_in_pauses(phones)
    added = 0
    for start, end in find_dips(samples, sample_rate):
        if closure_probability(dip_features(samples, sample_rate, phones, start, end)) < MIN_PROBABILITY:
            continue
        out = _insert(out, "M", max(start, end - HOLD_S), end)
        added += 1
    return out, added


def _insert(phones: list[tuple[str, float, float]], label: str, start: float, end: float) -> list[tuple[str, float, float]]:
    """``label`` over [start, end], the phones around it trimmed."""
    out: list[tuple[str, float, float]] = []
    for lab, s, e in phones:
        if e <= start or s >= end:
            out.append((lab, s, e))
            continue
        if s < start:
            out.append((lab, s, start))
        if e > end:
            out.append((lab, end, e))
    out.append((label, start, end))
    return sorted(out, key=lambda p: p[1])
