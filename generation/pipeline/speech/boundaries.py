"""Phones from word boundaries (edge-tts ``WordBoundary`` events).

The online voices say when each word is spoken but not its sounds; espeak-ng's
phonemizer in the voice's language gives the sounds, and each word's span is
shared among them by typical phone durations. Django-free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from generation.pipeline.speech.inventory import (
    ALVEOLAR,
    BACK,
    BILABIAL,
    GLOTTAL,
    LABIAL_GLIDE,
    PALATAL,
    VOWEL,
    phone_info,
)
from generation.pipeline.speech.units import PAUSE, TimedUnit

TICKS_PER_SECOND = 10_000_000  # edge-tts offsets and durations are in 100 ns units
# Typical durations (seconds) in running speech, by mouth class; the exact values
# only matter relative to each other within a word.
_TYPICAL_S = {VOWEL: 0.085, BILABIAL: 0.075, ALVEOLAR: 0.065, BACK: 0.07, PALATAL: 0.06, GLOTTAL: 0.05,
              LABIAL_GLIDE: 0.055}
_DEFAULT_S = 0.075  # fricatives and the rest
_LONG = "ː"

Phonemize = Callable[[str, str], list[list[str]]]


def edge_word_boundaries(chunks: Iterable[dict]) -> list[TimedUnit]:
    """Words from edge-tts stream chunks of type ``WordBoundary`` (offset/duration in 100 ns)."""
    words = []
    for chunk in chunks:
        if chunk.get("type") != "WordBoundary":
            continue
        start = float(chunk["offset"]) / TICKS_PER_SECOND
        words.append(TimedUnit(str(chunk.get("text", "")), start, start + float(chunk["duration"]) / TICKS_PER_SECOND))
    return sorted(words, key=lambda w: w.start)


def typical_duration(label: str) -> float:
    info = phone_info(label)
    base = _TYPICAL_S.get(info.kind, _DEFAULT_S)
    if info.kind == VOWEL and (_LONG in label or info.offglide):
        base *= 1.4
    return base


@functools.lru_cache(maxsize=8192)
def _espeak_word_phones(word: str, voice: str) -> tuple[str, ...]:
    from generation.pipeline.speech.espeak import text_to_phonemes

    return tuple(p for phones in text_to_phonemes(word, voice) for p in phones)


def espeak_phonemize(word: str, voice: str) -> list[list[str]]:
    return [list(_espeak_word_phones(word, voice))]


def phones_from_word_boundaries(words: list[TimedUnit], voice: str, duration: float,
                                phonemize: Phonemize = espeak_phonemize) -> list[TimedUnit]:
    """Contiguous phones over [0, duration]: each word's span shared among its phonemes.

    ``phonemize(word, voice)`` returns the word's phones (espeak-ng by default);
    time between words is a pause.
    """
    out: list[TimedUnit] = []
    cursor = 0.0
    for word in sorted(words, key=lambda w: w.start):
        start, end = max(word.start, cursor), min(word.end, duration)
        if end - start <= 1e-3:
            continue
        phones = [p for group in phonemize(word.text, voice) for p in group]
        if not phones:
            continue
        if start > cursor + 1e-6:
            out.append(TimedUnit(PAUSE, cursor, start))
        weights = [typical_duration(p) for p in phones]
        scale = (end - start) / sum(weights)
        t = start
        for label, weight in zip(phones, weights):
            out.append(TimedUnit(label, t, t + weight * scale))
            t += weight * scale
        out[-1] = TimedUnit(out[-1].text, out[-1].start, end)
        cursor = end
    if cursor < duration - 1e-6 or not out:
        out.append(TimedUnit(PAUSE, cursor, max(duration, cursor)))
    return out
