from __future__ import annotations

import numpy as np
import pytest

from generation.pipeline.speech.closures import (
    HOLD_S,
    MIN_PROBABILITY,
    STOP_CLOSURE,
    closure_probability,
    dip_features,
    find_dips,
    mark_closures,
    rest_only_in_pauses,
)
from generation.pipeline.speech.inventory import is_bilabial
from generation.pipeline.speech.phonemes import SILENCE

RATE = 16000


def _two_gaps() -> np.ndarray:
    """Vowel, a gap holding only a low murmur (lips shut), vowel, a gap of hiss (tongue frication), vowel."""
    rng = np.random.default_rng(1)

    def part(kind: str, seconds: float) -> np.ndarray:
        t = np.arange(int(seconds * RATE)) / RATE
        if kind == "vowel":
            return 0.3 * sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 25))
        noise = 1e-4 * rng.standard_normal(len(t))  # a recording's floor
        if kind == "murmur":
            return 0.02 * sum(np.sin(2 * np.pi * 120 * k * t) / k**1.5 for k in range(1, 25)) + noise  # dark voicing
        return 0.02 * np.diff(rng.standard_normal(len(t)), prepend=0.0) + noise  # hiss: energy rises with frequency

    layout = [("vowel", 0.25), ("murmur", 0.07), ("vowel", 0.25), ("hiss", 0.07), ("vowel", 0.25)]
    return np.concatenate([part(k, s) for k, s in layout]).astype(np.float32)


def test_only_the_murmur_behind_closed_lips_becomes_a_bilabial():
    samples = _two_gaps()
    dips = find_dips(samples, RATE)
    assert len(dips) == 2
    (s1, e1), (s2, e2) = dips
    assert 0.23 < s1 < e1 < 0.34 and 0.56 < s2 < e2 < 0.66
    heard = [("AA", 0.0, s1), ("K", s1, e1), ("AA", e1, s2), ("K", s2, e2), ("AA", e2, 0.9)]
    murmur, hiss = (closure_probability(dip_features(samples, RATE, heard, s, e)) for s, e in dips)
    assert murmur >= MIN_PROBABILITY > hiss
    phones, found = mark_closures(heard, samples, RATE)
    assert found == 1
    closed = [(s, e) for lab, s, e in phones if is_bilabial(lab)]
    # Shown shut for the tail of the gap, up to the release.
    assert len(closed) == 1 and closed[0][0] == pytest.approx(max(s1, e1 - HOLD_S)) and closed[0][1] == pytest.approx(e1)


def test_a_bilabial_heard_by_the_phone_loop_counts_for_the_closure():
    samples = _two_gaps()
    s2, e2 = find_dips(samples, RATE)[1]
    as_k = closure_probability(dip_features(samples, RATE, [("K", s2, e2)], s2, e2))
    as_p = closure_probability(dip_features(samples, RATE, [("P", s2, e2)], s2, e2))
    assert as_p > as_k


def test_short_silences_inside_speech_are_stop_closures_not_rests():
    # 0.1 s inside speech: a stop's hold; 0.2 s and 0.5 s: pauses long enough to rest (issue: ~150 ms).
    phones = [(SILENCE, 0.0, 0.3), ("AE", 0.3, 0.4), (SILENCE, 0.4, 0.5), ("T", 0.5, 0.6), (SILENCE, 0.6, 0.8),
              ("K", 0.8, 0.9), (SILENCE, 0.9, 1.4), ("IY", 1.4, 1.5), (SILENCE, 1.5, 1.55)]
    out = rest_only_in_pauses(phones)
    assert [lab for lab, _, _ in out] == [SILENCE, "AE", STOP_CLOSURE, "T", SILENCE, "K", SILENCE, "IY", SILENCE]
    assert [(s, e) for _, s, e in out] == [(s, e) for _, s, e in phones]
