"""Transcript alignment in any language: espeak-ng speaks the transcript with
phone events, and dynamic time warping on MFCCs maps that synthesis onto the
uploaded audio (the technique of the aeneas aligner); phone and word times
are carried across the warping path.

librosa computes the features and the DTW. Long clips are aligned coarse to
fine (a coarse path at 80 ms, then 10 ms windows along it) so memory stays
bounded. Django-free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline.speech import espeak
from generation.pipeline.speech.espeak import EspeakSpeech
from generation.pipeline.speech.units import PAUSE, TimedUnit

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
N_FFT = 400
N_MFCC = 13
MAX_DIRECT_FRAMES = 2500  # longer clips are aligned coarse to fine
COARSE = 8  # coarse frames are 8 fine frames
WINDOW = 1500  # fine frames of the synthesis per window along the coarse path
KEEP = 0.8  # share of each window kept before re-anchoring


@dataclass
class Alignment:
    phones: list[TimedUnit]  # contiguous over the uploaded audio
    words: list[TimedUnit]
    confidence: float  # 0..1: how much better the path matches than unrelated frames
    synthesis: EspeakSpeech


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    x = samples.astype(np.float32) / (32768.0 if samples.dtype == np.int16 else 1.0)
    if rate == SAMPLE_RATE:
        return x
    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)


def features(samples: np.ndarray) -> np.ndarray:
    """(frames, dims) MFCC 1-12 plus deltas at 10 ms, normalised per clip (speaker and channel)."""
    import librosa

    mfcc = librosa.feature.mfcc(y=samples.astype(np.float32), sr=SAMPLE_RATE, n_mfcc=N_MFCC, n_fft=N_FFT,
                                hop_length=HOP, n_mels=40, fmin=60.0, fmax=7600.0)
    rms = librosa.feature.rms(y=samples.astype(np.float32), frame_length=N_FFT, hop_length=HOP)
    loud = 20.0 * np.log10(rms + 1e-5)
    loud -= loud.max()
    feats = np.vstack([mfcc[1:], np.clip(loud, -60.0, 0.0) / 10.0])
    feats = (feats - feats.mean(axis=1, keepdims=True)) / (feats.std(axis=1, keepdims=True) + 1e-6)
    delta = librosa.feature.delta(feats, width=5) if feats.shape[1] >= 5 else np.zeros_like(feats)
    return np.vstack([feats, 0.5 * delta]).T.astype(np.float64)


def _dtw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Monotonic path (k, 2) of (frame of a, frame of b) from start to end."""
    import librosa

    _, wp = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    return wp[::-1]


def _pool(x: np.ndarray, k: int) -> np.ndarray:
    n = len(x) // k * k
    pooled = x[:n].reshape(-1, k, x.shape[1]).mean(axis=1)
    return np.vstack([pooled, x[n:].mean(axis=0, keepdims=True)]) if n < len(x) else pooled


def warp_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DTW path between feature sequences; coarse to fine when they are long."""
    if max(len(a), len(b)) <= MAX_DIRECT_FRAMES:
        return _dtw(a, b)
    coarse = _dtw(_pool(a, COARSE), _pool(b, COARSE)) * COARSE
    # b frame expected at each a frame, from the coarse path.
    guide = np.interp(np.arange(len(a)), coarse[:, 0], coarse[:, 1])
    parts, ia, ib = [], 0, 0
    while ia < len(a) - 1:
        ea = min(len(a), ia + WINDOW)
        eb = len(b) if ea == len(a) else int(min(len(b), max(ib + 1, guide[ea - 1] + 1)))
        path = _dtw(a[ia:ea], b[ib:eb]) + [ia, ib]
        if ea == len(a):
            parts.append(path)
            break
        cut = ia + int(KEEP * (ea - ia))
        keep = path[path[:, 0] < cut]
        parts.append(keep)
        ia, ib = int(keep[-1, 0]) + 1, int(keep[-1, 1]) + 1
        ib = min(ib, len(b) - 1)
    return np.vstack(parts)


def _mapping(path: np.ndarray, n_a: int) -> np.ndarray:
    """For each frame of a, the (mean) frame of b it maps to: monotonic."""
    sums = np.bincount(path[:, 0], weights=path[:, 1], minlength=n_a)
    counts = np.bincount(path[:, 0], minlength=n_a)
    have = counts > 0
    mapped = np.interp(np.arange(n_a), np.flatnonzero(have), sums[have] / counts[have])
    return np.maximum.accumulate(mapped)


def _confidence(a: np.ndarray, b: np.ndarray, path: np.ndarray) -> float:
    on_path = np.linalg.norm(a[path[:, 0]] - b[path[:, 1]], axis=1).mean()
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(a), 2000), rng.integers(0, len(b), 2000)
    unrelated = np.linalg.norm(a[i] - b[j], axis=1).mean()
    return float(np.clip(1.0 - on_path / max(unrelated, 1e-9), 0.0, 1.0))


def align_transcript(samples: np.ndarray, sample_rate: int, text: str, voice: str,
                     synthesis: EspeakSpeech | None = None) -> Alignment:
    """Phone and word times of ``text`` in the audio, via an espeak-ng synthesis in ``voice``
    (``synthesis``: that synthesis, when the caller already has it)."""
    synthesis = synthesis or espeak.synthesize(text, voice)
    user = _resample(samples, sample_rate)
    ref = _resample(synthesis.samples, synthesis.sample_rate)
    fa, fb = features(ref), features(user)
    path = warp_path(fa, fb)
    mapped = _mapping(path, len(fa))
    duration = len(user) / float(SAMPLE_RATE)

    def to_user(t: float) -> float:
        # Frame centres sit at k * hop (librosa centres its frames).
        frame = t * SAMPLE_RATE / HOP
        return float(np.clip(np.interp(frame, np.arange(len(mapped)), mapped) * HOP / SAMPLE_RATE, 0.0, duration))

    phones = _carry(synthesis.phones, to_user, duration)
    words = [TimedUnit(w.text, to_user(w.start), to_user(w.end)) for w in synthesis.words]
    words = [w for w in words if w.end > w.start]
    confidence = _confidence(fa, fb, path)
    logger.info("DTW alignment: %d phones, confidence %.2f", len(phones), confidence)
    return Alignment(phones=phones, words=words, confidence=confidence, synthesis=synthesis)


def _carry(phones: list[TimedUnit], to_user, duration: float) -> list[TimedUnit]:
    out: list[TimedUnit] = []
    for ph in phones:
        start, end = to_user(ph.start), to_user(ph.end)
        if out:
            start = out[-1].end
        # A phone the path squeezed to nothing still gets a few ms (a closure must not vanish).
        end = min(max(end, start + 0.012), duration)
        if end - start <= 1e-4:
            continue
        if out and out[-1].text == ph.text == PAUSE:
            out[-1] = TimedUnit(PAUSE, out[-1].start, end)
        else:
            out.append(TimedUnit(ph.text, start, end))
    if not out:
        return [TimedUnit(PAUSE, 0.0, duration)]
    out[0] = TimedUnit(out[0].text, 0.0, out[0].end)
    out[-1] = TimedUnit(out[-1].text, out[-1].start, duration)
    return out
