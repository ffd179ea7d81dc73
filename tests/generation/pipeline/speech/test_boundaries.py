from __future__ import annotations

import pytest

from generation.pipeline.speech.boundaries import (
    edge_word_boundaries,
    phones_from_word_boundaries,
    typical_duration,
)
from generation.pipeline.speech.inventory import is_bilabial
from generation.pipeline.speech.timeline import timing_from_word_boundaries
from generation.pipeline.speech.units import PAUSE, TimedUnit

# What edge-tts streams with boundary="WordBoundary" (offsets in 100 ns units).
CHUNKS = [
    {"type": "audio", "data": b"..."},
    {"type": "WordBoundary", "offset": 1_000_000, "duration": 3_000_000, "text": "Pablo"},
    {"type": "WordBoundary", "offset": 4_500_000, "duration": 2_500_000, "text": "bebe"},
    {"type": "SentenceBoundary", "offset": 0, "duration": 9_000_000, "text": "Pablo bebe."},
]


def test_edge_chunks_become_words_in_seconds():
    words = edge_word_boundaries(CHUNKS)
    assert words == [TimedUnit("Pablo", 0.1, 0.4), TimedUnit("bebe", 0.45, 0.7)]


def _fake_phonemize(word, voice):
    assert voice == "es"
    return {"Pablo": [["p", "a", "β", "l", "o"]], "bebe": [["b", "e"], ["β", "e"]]}[word]


def test_each_word_span_is_shared_among_its_phonemes():
    words = edge_word_boundaries(CHUNKS)
    phones = phones_from_word_boundaries(words, "es", 1.0, phonemize=_fake_phonemize)
    assert [p.text for p in phones] == [PAUSE, "p", "a", "β", "l", "o", PAUSE, "b", "e", "β", "e", PAUSE]
    assert phones[0].start == 0.0 and phones[-1].end == 1.0
    for a, b in zip(phones, phones[1:]):
        assert a.end == pytest.approx(b.start)
    # Word edges are kept exactly; vowels get more time than consonants.
    assert phones[1].start == pytest.approx(0.1) and phones[5].end == pytest.approx(0.4)
    assert phones[7].start == pytest.approx(0.45) and phones[10].end == pytest.approx(0.7)
    a, l_ = phones[2], phones[4]
    assert a.end - a.start > l_.end - l_.start
    assert typical_duration("aː") > typical_duration("a") > typical_duration("l")


def test_espeak_phonemizer_in_the_voice_language():
    words = [TimedUnit("Papa", 0.2, 0.6), TimedUnit("mama", 0.7, 1.1)]
    timing = timing_from_word_boundaries(words, "ru", 1.4)
    assert timing.source == "word-boundaries" and timing.words == words
    bilabials = [p for p in timing.phones if is_bilabial(p.text)]
    assert len(bilabials) == 4
    assert bilabials[0].start == pytest.approx(0.2) and 0.7 <= bilabials[2].start < 0.8
    assert timing_from_word_boundaries(words, "xx", 1.4) is None
