"""Decoder-free analysis of speech audio: the loudness envelope, a voicing
mask, and pseudo-phones from energy alone (the fallback when the recogniser
cannot make sense of the audio: other languages, singing, music).

Django-free. Everything runs on 10 ms hops of 16 kHz mono float samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generation.pipeline.speech.phonemes import SILENCE

HOP_S = 0.01
WINDOW_S = 0.03
ACTIVE_BELOW_PEAK_DB = 32.0  # frames quieter than this under the loud level are silence
ABSOLUTE_FLOOR_DB = -55.0  # dBFS; digital near-silence is never speech
VOICING_THRESHOLD = 0.45  # normalised autocorrelation peak in the pitch range
SHORT_GAP_S = 0.12  # inactive runs this short inside speech are closures, not pauses
MIN_RUN_S = 0.03
SPECTRAL_LAG = 3  # frames
MIN_VOICED_FRAMES = 20  # fewer voiced frames than this: too little to judge speech-likeness
MIN_SPEECH_LIKENESS = 0.35


@dataclass
class FrameFeatures:
    times: np.ndarray  # hop centres, seconds
    level_db: np.ndarray  # RMS in dBFS
    envelope: np.ndarray  # RMS normalised 0..1 by the 95th percentile
    periodicity: np.ndarray  # 0..1
    active: np.ndarray  # bool: loud enough to be speech
    voiced: np.ndarray  # bool: active and periodic
    spectral_change: np.ndarray  # formant movement per frame (see speech_likeness)


def _frames(samples: np.ndarray, sample_rate: int, win: int, hop: int) -> np.ndarray:
    n = max(1, int(np.ceil(len(samples) / hop)))
    pad = np.concatenate([np.zeros(win // 2, np.float32), samples.astype(np.float32), np.zeros(win, np.float32)])
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    return pad[idx]


def analyse(samples: np.ndarray, sample_rate: int) -> FrameFeatures:
    """Per-10 ms loudness and voicing."""
    hop, win = int(round(HOP_S * sample_rate)), int(round(WINDOW_S * sample_rate))
    frames = _frames(samples, sample_rate, win, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
    level_db = 20.0 * np.log10(rms + 1e-9)
    ref = float(np.percentile(rms, 95)) if len(rms) else 0.0
    envelope = np.clip(rms / ref, 0.0, 1.0) if ref > 1e-5 else np.zeros_like(rms)
    # Periodicity: peak of the normalised autocorrelation over 62-400 Hz pitch lags.
    window = np.hanning(win)
    centred = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(centred * window[None, :], n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :win]
    # Divide out the window's own autocorrelation so long pitch lags are not penalised.
    ac_win = np.fft.irfft(np.abs(np.fft.rfft(window, n=2 * win)) ** 2)[:win]
    lo, hi = int(sample_rate / 400), min(win - 1, int(sample_rate / 62))
    ratio = (ac[:, lo:hi] / (ac[:, :1] + 1e-12)) / (ac_win[lo:hi] / ac_win[0])[None, :]
    periodicity = np.clip(ratio.max(axis=1), 0.0, 1.0)
    spectral_change = _spectral_change(np.abs(spec), sample_rate, 2 * win)
    peak_db = 20.0 * np.log10(ref + 1e-9)
    active = (level_db > peak_db - ACTIVE_BELOW_PEAK_DB) & (level_db > ABSOLUTE_FLOOR_DB)
    voiced = active & (periodicity > VOICING_THRESHOLD)
    times = (np.arange(len(rms)) + 0.5) * HOP_S
    return FrameFeatures(times, level_db, envelope.astype(np.float32), periodicity, active, voiced, spectral_change)


def _spectral_change(mag: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Per-frame change of the log-band spectral shape over 30 ms (formant movement).

    Speech moves its formants all the time; tones and sustained notes barely do.
    """
    hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = np.searchsorted(hz, np.geomspace(125.0, 5000.0, 25))
    bands = np.stack([mag[:, a : max(b, a + 1)].mean(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    shape = np.log(bands + 1e-6)
    shape -= shape.mean(axis=1, keepdims=True)  # loudness-independent
    change = np.zeros(len(shape))
    if len(shape) > SPECTRAL_LAG:
        change[SPECTRAL_LAG:] = np.linalg.norm(shape[SPECTRAL_LAG:] - shape[:-SPECTRAL_LAG], axis=1) / np.sqrt(shape.shape[1])
    return change


def speech_likeness(feats: FrameFeatures) -> float:
    """Median spectral change over voiced frames (speech ~0.5-1.0, tones/notes < 0.35); nan if unvoiced."""
    lag = SPECTRAL_LAG
    both = feats.voiced.copy()
    both[lag:] &= feats.voiced[:-lag]
    both[:lag] = False
    return float(np.median(feats.spectral_change[both])) if both.sum() >= MIN_VOICED_FRAMES else float("nan")


def _runs(labels: list[str]) -> list[tuple[str, int, int]]:
    """(label, first_frame, end_frame_exclusive) of each run of equal labels."""
    runs: list[tuple[str, int, int]] = []
    for i, lab in enumerate(labels):
        if runs and runs[-1][0] == lab:
            runs[-1] = (lab, runs[-1][1], i + 1)
        else:
            runs.append((lab, i, i + 1))
    return runs


def energy_phones(feats: FrameFeatures, duration: float) -> list[tuple[str, float, float]]:
    """Pseudo-phones that make the mouth follow the loudness of any voice.

    Loud voiced frames open the mouth (AA), quieter voiced ones half-open it
    (AH), unvoiced noise shows teeth (S), brief dips and short gaps close the
    lips (M) so syllables read as separate, and the rest is SIL.
    """
    n = len(feats.times)
    if n == 0:
        return [(SILENCE, 0.0, duration)]
    labels = [SILENCE] * n
    for i in range(n):
        if feats.voiced[i]:
            labels[i] = "AA" if feats.envelope[i] > 0.5 else "AH"
        elif feats.active[i]:
            labels[i] = "S"
    # Short inactive gaps between active stretches: a stop or a syllable break.
    short = int(round(SHORT_GAP_S / HOP_S))
    for lab, a, b in _runs(labels):
        if lab == SILENCE and 0 < a and b < n and b - a <= short:
            labels[a:b] = ["M"] * (b - a)
    # Dips of the level inside long voiced stretches: a syllable boundary -> brief closure.
    smooth = np.convolve(feats.level_db, np.ones(5) / 5.0, mode="same")
    reach = 10  # +-100 ms
    for i in range(reach, n - reach):
        if labels[i] not in ("AA", "AH"):
            continue
        window = smooth[i - reach : i + reach + 1]
        if smooth[i] == window.min() and min(window[:reach].max(), window[reach + 1 :].max()) - smooth[i] > 6.0:
            labels[max(0, i - 2) : i + 2] = ["M"] * (min(n, i + 2) - max(0, i - 2))
    # Absorb runs shorter than MIN_RUN_S into the previous run (flicker).
    min_run = int(round(MIN_RUN_S / HOP_S))
    runs = _runs(labels)
    merged: list[list] = []
    for lab, a, b in runs:
        if merged and (b - a < min_run and lab != "M"):
            merged[-1][2] = b
        elif merged and merged[-1][0] == lab:
            merged[-1][2] = b
        else:
            merged.append([lab, a, b])
    out = [(lab, a * HOP_S, b * HOP_S) for lab, a, b in merged]
    out[-1] = (out[-1][0], out[-1][1], max(duration, out[-1][1]))
    return out


def voiced_coverage(phones: list[tuple[str, float, float]], feats: FrameFeatures) -> float:
    """Share of voiced frames that fall inside a non-silent phone (1.0 if nothing is voiced)."""
    idx = np.flatnonzero(feats.voiced)
    if len(idx) == 0:
        return 1.0
    speaking = np.zeros(len(feats.times), dtype=bool)
    for lab, start, end in phones:
        if lab != SILENCE:
            speaking[(feats.times >= start) & (feats.times < end)] = True
    return float(speaking[idx].mean())
