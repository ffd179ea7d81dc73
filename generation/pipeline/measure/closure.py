"""Do the lips close where speech closes them, and only there?

Two figures against reference phone times (never the render's own timeline):
- closure rate: the share of bilabials (p, b, m and variants) where the
  inner-lip gap is at most CLOSED_IOD of the inter-ocular distance at some
  frame within WINDOW_S of the phone;
- false-closure rate: the share of tongue consonants (t, d, s, z, n, l, k,
  g...) away from bilabials and pauses where the lips touch.

The reference comes from the synthesiser itself: libespeak-ng's phoneme events
when the audio is espeak-ng's own (checked by resynthesising the text), else
the espeak-ng synthesis of the text warped onto the audio (DTW), or phone
times the caller has (e.g. Festival's segments). Django-free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from generation.pipeline.speech.align import Alignment
from generation.pipeline.speech.inventory import phone_info
from generation.pipeline.speech.units import PAUSE, TimedUnit
from generation.pipeline.types import AudioClip

logger = logging.getLogger(__name__)

CLOSED_IOD = 0.02  # lips touch at or under this inner-lip gap (share of the inter-ocular distance)
WINDOW_S = 0.03  # a bilabial's closure may fall this far either side of the phone
AWAY_S = 0.06  # tongue consonants this close to a bilabial or a pause are not judged
MIN_PAUSE_S = 0.05
SAME_AUDIO_CORRELATION = 0.9  # envelope correlation above which the audio is the synthesis itself


@dataclass
class Reference:
    phones: list[TimedUnit]
    source: str  # "espeak-events" | "espeak-dtw" | "given"
    language: str = ""
    alignment: Alignment | None = None  # the espeak-ng synthesis carried onto the audio: phone_timeline reuses it


def closure_figures(aperture: np.ndarray, fps: float, phones: list[TimedUnit]) -> dict:
    """Closure and false-closure rates of per-frame ``aperture`` (gap / IOD) against ``phones``."""
    n = len(aperture)
    centres = (np.arange(n) + 0.5) / fps
    infos = [phone_info(p.text if p.text != PAUSE else "") for p in phones]
    closed = np.where(np.isfinite(aperture), aperture <= CLOSED_IOD, False)
    measured = np.isfinite(aperture)

    def frames(start: float, end: float) -> np.ndarray:
        inside = np.flatnonzero((centres >= start) & (centres < end))
        if len(inside) == 0:
            inside = np.array([int(np.clip(round((start + end) / 2.0 * fps - 0.5), 0, n - 1))])
        return inside

    bilabial_hits, bilabials, misses = 0, 0, []
    tongue_hits, tongues, false_at = 0, 0, []
    for ph, info in zip(phones, infos):
        if n == 0:
            break
        if info.is_bilabial:
            idx = frames(ph.start - WINDOW_S, ph.end + WINDOW_S)
            if not measured[idx].any():
                continue
            bilabials += 1
            if closed[idx].any():
                bilabial_hits += 1
            else:
                misses.append(round(ph.start, 3))
        elif info.is_tongue_consonant:
            near = [q for q, qi in zip(phones, infos)
                    if (qi.is_bilabial or (qi.is_pause and q.end - q.start >= MIN_PAUSE_S))
                    and q.start < ph.end + AWAY_S and q.end > ph.start - AWAY_S]
            idx = frames(ph.start, ph.end)
            if near or not measured[idx].any():
                continue
            tongues += 1
            if closed[idx].any():
                tongue_hits += 1
                false_at.append(round(ph.start, 3))
    return {
        "closure_rate": round(bilabial_hits / bilabials, 4) if bilabials else None,
        "false_closure_rate": round(tongue_hits / tongues, 4) if tongues else None,
        "bilabials": bilabials, "tongue_consonants": tongues,
        "missed_closures_at": misses[:50], "false_closures_at": false_at[:50],
    }


def _envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    hop = max(1, rate // 100)
    n = len(samples) // hop
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    return np.sqrt((frames**2).mean(axis=1))


def reference_phones(clip: AudioClip, text: str, language: str | None = None) -> Reference:
    """Reference phone times of ``clip`` saying ``text``, from espeak-ng (see module doc)."""
    from generation.pipeline.errors import InvalidOption
    from generation.pipeline.speech import espeak
    from generation.pipeline.speech.align import align_transcript
    from generation.pipeline.speech.language import detect_language, espeak_voice

    lang = detect_language(text, language).language
    voice = espeak_voice(lang)
    if voice is None:
        raise InvalidOption(f"espeak-ng does not speak {lang}; no reference phone times")
    synthesis = espeak.synthesize(text, voice)
    from scipy.signal import resample_poly

    ours = resample_poly(synthesis.samples.astype(np.float64), clip.sample_rate, synthesis.sample_rate)
    a, b = _envelope(ours, clip.sample_rate), _envelope(clip.samples, clip.sample_rate)
    # The audio may be the synthesis itself, shifted by codec delay: find the lag.
    best, lag = -1.0, 0
    m = min(len(a), len(b))
    if m > 20 and abs(len(a) - len(b)) <= max(5, 0.02 * m):
        for shift in range(-10, 11):
            x, y = (a[: m - shift], b[shift:m]) if shift >= 0 else (a[-shift:m], b[: m + shift])
            c = float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else -1.0
            if c > best:
                best, lag = c, shift
    if best >= SAME_AUDIO_CORRELATION:
        offset = lag / 100.0

        def shifted(units: list[TimedUnit]) -> list[TimedUnit]:
            return [TimedUnit(u.text, max(0.0, u.start + offset), max(0.0, u.end + offset)) for u in units]

        phones = shifted(synthesis.phones)
        return Reference(phones, "espeak-events", lang, Alignment(phones, shifted(synthesis.words), 1.0, synthesis))
    aligned = align_transcript(clip.samples, clip.sample_rate, text, voice, synthesis=synthesis)
    return Reference(aligned.phones, "espeak-dtw", lang, aligned)
