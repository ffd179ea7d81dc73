"""Timed units shared by the speech modules: phones and words with their spans.

Django-free and dependency-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAUSE = "_"  # label of pauses in TTS timings (espeak names them "_:", IPA has no name for them)


@dataclass(frozen=True)
class TimedUnit:
    text: str
    start: float  # seconds
    end: float


@dataclass
class SpeechTiming:
    """What a TTS engine said when: handed from synthesis to the phone timeline.

    ``source`` names where the times come from: "espeak-events" (libespeak-ng's
    phoneme events) or "word-boundaries" (edge-tts words spread over espeak-ng
    phonemes).
    """

    phones: list[TimedUnit]
    words: list[TimedUnit]
    source: str
    language: str = ""
    notes: list[str] = field(default_factory=list)
