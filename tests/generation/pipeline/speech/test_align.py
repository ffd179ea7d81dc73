from __future__ import annotations

import numpy as np
import pytest

from generation.pipeline.speech import align
from generation.pipeline.speech.inventory import is_bilabial
from tests.media_factory import PHRASES, espeak_speech

LONGER = {
    "ru": "Доброе утро, меня зовут Пакса. Я могу произнести любую фразу, и мои губы будут следовать.",
    "hi": "नमस्ते, मेरा नाम पाक्सा है। मैं कोई भी वाक्य बोल सकती हूँ, और मेरे होंठ साथ चलेंगे।",
}


def _errors(truth, found):
    starts = np.array([p.start for p in found])
    return np.array([np.abs(starts - p.start).min() for p in truth])


@pytest.mark.parametrize("language,speaker", [("ru", "ru+f3"), ("hi", "hi+m3")])
def test_another_voice_is_aligned_phone_by_phone(language, speaker):
    # The upload: another espeak-ng voice at another rate; its own events are the truth.
    upload = espeak_speech(LONGER[language], speaker, rate_wpm=150)
    result = align.align_transcript(upload.samples, upload.sample_rate, LONGER[language], language)
    assert result.phones[0].start == 0.0 and result.phones[-1].end == pytest.approx(upload.duration, abs=0.02)
    errors = _errors(upload.phones, result.phones)
    assert np.median(errors) < 0.015 and np.percentile(errors, 90) < 0.05
    for p in upload.phones:
        if is_bilabial(p.text):
            assert any(is_bilabial(q.text) and q.start < p.end + 0.03 and q.end > p.start - 0.03 for q in result.phones)
    assert [w.text for w in result.words] == [w.text for w in upload.words]
    assert result.confidence > 0.15


def test_long_clips_align_coarse_to_fine(monkeypatch):
    upload = espeak_speech(LONGER["ru"], "ru+m2", rate_wpm=160)
    direct = align.align_transcript(upload.samples, upload.sample_rate, LONGER["ru"], "ru")
    monkeypatch.setattr(align, "MAX_DIRECT_FRAMES", 150)
    monkeypatch.setattr(align, "WINDOW", 120)
    chunked = align.align_transcript(upload.samples, upload.sample_rate, LONGER["ru"], "ru")
    assert np.median(_errors(upload.phones, chunked.phones)) < 0.015
    assert np.median(_errors(direct.phones, chunked.phones)) < 0.015


def test_unrelated_text_scores_lower():
    upload = espeak_speech(LONGER["ru"], "ru+f3", rate_wpm=150)
    right = align.align_transcript(upload.samples, upload.sample_rate, LONGER["ru"], "ru")
    wrong = align.align_transcript(upload.samples, upload.sample_rate, "Сегодня на улице идёт сильный дождь и снег.", "ru")
    assert wrong.confidence < right.confidence


def test_a_synthesis_the_caller_has_is_not_made_again(monkeypatch):
    upload = espeak_speech(PHRASES["es"], "es+f3", rate_wpm=150)
    made = align.align_transcript(upload.samples, upload.sample_rate, PHRASES["es"], "es")

    def refuse(*args, **kwargs):
        raise AssertionError("synthesised again")

    monkeypatch.setattr(align.espeak, "synthesize", refuse)
    reused = align.align_transcript(upload.samples, upload.sample_rate, PHRASES["es"], "es", synthesis=made.synthesis)
    assert reused.synthesis is made.synthesis
    assert [(p.text, p.start, p.end) for p in reused.phones] == [(p.text, p.start, p.end) for p in made.phones]
