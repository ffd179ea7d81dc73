"""Bilabial closures found in the signal itself, for audio alone in any language.

PocketSphinx's English phone loop misses many p/b/m in other languages and
voices. A closure has an acoustic signature of its own: the level falls well
below the surrounding syllables for a few tens of milliseconds (the closure
of a stop, or the murmur of a nasal) and comes back with a release. Where the
lips made it, the release is dark: its energy sits low in the spectrum
(labial bursts are diffuse and falling; alveolar and velar ones carry much
more energy above 3.5 kHz). A dark-released dip becomes a bilabial in the
decoded phones unless the decoder heard a front tongue consonant in it or at
its release, or a pause after it: the phone loop confuses p/b/m with k/g but
seldom with t/d/s/n/l, and each false press shows as a chattering mouth.
The lips are shown shut only for the end of the dip (HOLD_S), up to the
release. Django-free.
"""

from __future__ import annotations

import numpy as np

from generation.pipeline.speech.inventory import BACK, PAUSE, TONGUE_CLASSES, phone_info
from generation.pipeline.speech.phonemes import SILENCE

HOP_S = 0.005
MIN_DEPTH_DB = 15.0  # the dip's floor under the louder of its two neighbouring peaks
NEIGHBOUR_S = 0.15  # where those peaks are looked for
MIN_DIP_S, MAX_DIP_S = 0.02, 0.18
BURST_S = 0.015
DARK_MARGIN_DB = 0.0  # a release this much darker than the speaker's median release is labial
MAX_DECODED_OVERLAP = 0.5  # a dip already decoded as a bilabial is left alone
RELEASE_PROBE_S = 0.01  # the decoded phone this long after the release is what the dip released into
HOLD_S = 0.04  # the lips are shown shut only for the end of a dip, up to its release
FRONT_TONGUE = TONGUE_CLASSES - {BACK}  # t, d, s, n, l, th, sh, j...: a veto; k/g are often misheard p/b/m


def _levels(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    hop = max(1, int(round(HOP_S * sample_rate)))
    n = len(samples) // hop
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    return 10.0 * np.log10((frames**2).mean(axis=1) + 1e-10)


def _darkness(samples: np.ndarray, sample_rate: int, at: float) -> float:
    """High (3.5-8 kHz) over low (0-1.5 kHz) energy of the release at ``at``, in dB."""
    a = int(at * sample_rate)
    chunk = samples[a: a + int(BURST_S * sample_rate)].astype(np.float64)
    if len(chunk) < 32:
        return 0.0
    spec = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk)), 512)) ** 2
    hz = np.fft.rfftfreq(512, 1.0 / sample_rate)
    high = spec[(hz >= 3500) & (hz < 8000)].sum() + 1e-12
    low = spec[hz < 1500].sum() + 1e-12
    return float(10.0 * np.log10(high / low))


def find_dips(samples: np.ndarray, sample_rate: int) -> list[tuple[float, float, float]]:
    """(start, end, release darkness dB) of consonantal dips inside speech."""
    level = _levels(samples, sample_rate)
    n = len(level)
    if n < 10:
        return []
    reach = int(NEIGHBOUR_S / HOP_S)
    peak = float(np.percentile(level, 95))
    smooth = np.convolve(level, np.ones(3) / 3.0, mode="same")
    dips: list[tuple[float, float, float]] = []
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
                dips.append((start, end, _darkness(samples, sample_rate, end)))
            i = j + 1
            continue
        i += 1
    return dips


def mark_closures(phones: list[tuple[str, float, float]], samples: np.ndarray,
                  sample_rate: int) -> tuple[list[tuple[str, float, float]], int]:
    """The decoded phones with dark-released dips relabelled as bilabials; (phones, how many)."""
    dips = find_dips(samples, sample_rate)
    if not dips:
        return phones, 0
    median = float(np.median([d for _, _, d in dips]))
    out = list(phones)
    added = 0
    for start, end, dark in dips:
        if dark > median - DARK_MARGIN_DB:
            continue
        overlap = sum(max(0.0, min(e, end) - max(s, start)) for lab, s, e in out
                      if lab != SILENCE and phone_info(lab).is_bilabial)
        if overlap >= MAX_DECODED_OVERLAP * (end - start):
            continue
        if _tongue_made(phones, start, end):
            continue
        out = _insert(out, "M", max(start, end - HOLD_S), end)
        added += 1
    return out, added


def _tongue_made(phones: list[tuple[str, float, float]], start: float, end: float) -> bool:
    """Whether the decoder heard the dip as the tongue's work, or its release as a pause.

    The phone loop often takes a p/b/m for a k/g, but seldom for a front
    tongue consonant (t, d, s, n, l...): those, and a release into silence,
    veto a closure.
    """
    def kind_at(at: float) -> str:
        return next((phone_info(lab).kind for lab, s, e in phones if s <= at < e), PAUSE)

    release = kind_at(end + RELEASE_PROBE_S)
    return release == PAUSE or release in FRONT_TONGUE or kind_at((start + end) / 2.0) in FRONT_TONGUE


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
