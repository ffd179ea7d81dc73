from __future__ import annotations

import threading
import wave

import numpy as np
import pytest

from generation.pipeline.errors import EngineUnavailable, InvalidOption
from generation.pipeline.speech import espeak
from generation.pipeline.speech.inventory import phone_info
from generation.pipeline.speech.units import PAUSE


def _contiguous(units, duration):
    assert units[0].start == 0.0
    assert units[-1].end == pytest.approx(duration, abs=1e-6)
    for a, b in zip(units, units[1:]):
        assert a.end == pytest.approx(b.start, abs=1e-9) and a.end > a.start


def test_english_phones_and_words_come_with_exact_times():
    speech = espeak.synthesize("Hello there. My name is Paksa.", "en-us")
    assert speech.sample_rate == 22050 and speech.samples.dtype == np.int16
    assert 1.5 < speech.duration < 4.0
    _contiguous(speech.phones, speech.duration)
    labels = [p.text for p in speech.phones]
    assert labels[0] == PAUSE and labels[-1] == PAUSE
    # The sentence break is a real pause, and "My" starts with its m right after it.
    assert [w.text for w in speech.words] == ["Hello", "there", "My", "name", "is", "Paksa"]
    my = speech.words[2]
    m = next(p for p in speech.phones if p.start >= my.start - 1e-9)
    assert m.text == "m" and m.start == pytest.approx(my.start)
    before = next(p for p in speech.phones if p.end == pytest.approx(my.start))
    assert before.text == PAUSE and before.end - before.start > 0.15
    # Pauses are silent; the phones of a word are not.
    x = speech.samples.astype(float)
    for p in speech.phones:
        chunk = x[int(p.start * 22050): int(p.end * 22050)]
        if p.text == PAUSE and p.end - p.start > 0.05:
            assert np.abs(chunk).max() < 300
    # A stop's silent closure belongs to the stop: Paksa's p starts where the sound stops.
    paksa = speech.words[-1]
    p = next(ph for ph in speech.phones if ph.text == "p" and ph.start >= paksa.start - 1e-9)
    closure = x[int(p.start * 22050): int((p.start + 0.02) * 22050)]
    assert np.sqrt(np.mean(closure**2)) < 0.05 * np.abs(x).max()


@pytest.mark.parametrize("voice,text,bilabials", [
    ("ru", "Папа купил большой барабан.", 4),
    ("hi", "बाबा पानी में बैठे।", 4),
    ("el", "Ο παππούς πίνει μπύρα.", 3),
    ("ar", "بابا يشرب الماء.", 3),
])
def test_every_script_gets_phones_and_its_own_words(voice, text, bilabials):
    speech = espeak.synthesize(text, voice)
    _contiguous(speech.phones, speech.duration)
    found = [p for p in speech.phones if phone_info(p.text).is_bilabial]
    assert len(found) >= bilabials
    # Words are the typed words, in order, within the clip.
    typed = [w.strip(".।") for w in text.split()]
    assert [w.text for w in speech.words] == typed
    assert all(0.0 <= w.start < w.end <= speech.duration for w in speech.words)


def test_palatalised_consonants_are_one_phone():
    speech = espeak.synthesize("Привет", "ru")
    labels = [p.text for p in speech.phones]
    assert "rʲ" in labels and "ʲ" not in labels


def test_voices_by_language_and_variant(tmp_path):
    plain = espeak.synthesize("Hello", "en-gb")
    female = espeak.synthesize("Hello", "en-gb+f3")
    assert not np.array_equal(plain.samples[:2000], female.samples[:2000])
    slow = espeak.synthesize("Hello there my friend", "en-us", rate_wpm=100)
    fast = espeak.synthesize("Hello there my friend", "en-us", rate_wpm=250)
    assert slow.duration > 1.5 * fast.duration
    with pytest.raises(InvalidOption):
        espeak.synthesize("Hello", "zz")
    with pytest.raises(InvalidOption):
        espeak.synthesize("   ", "en")
    out = plain.write_wav(tmp_path / "hello.wav")
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 22050 and wav.getnframes() == len(plain.samples)


def test_text_to_phonemes_per_word():
    words = espeak.text_to_phonemes("my name is Paksa", "en-us")
    assert words[0] == ["m", "aɪ"] and words[1] == ["n", "eɪ", "m"] and words[3][0] == "p"
    assert espeak.text_to_phonemes("Привет мама", "ru")[1][0] == "m"


def test_voice_list_names_languages():
    listed = dict(espeak.voices())
    for code in ("en-us", "es", "ru", "hi", "el", "ar", "fr-fr"):
        assert code in listed


def _labels(speech):
    return [p.text for p in speech.phones]


def test_concurrent_syntheses_do_not_mix():
    # espeak-ng is not bit-for-bit repeatable (a voice change shifts timing by a few ms):
    # compare what was said, not the samples.
    texts = {"en-us": "Bob may buy a pan.", "es": "Pablo bebe un poco de vino.", "de": "Bitte bring mir das Brot."}
    expected = {v: espeak.synthesize(t, v) for v, t in texts.items()}
    results: dict[str, list] = {v: [] for v in texts}

    def speak(voice: str) -> None:
        for _ in range(3):
            results[voice].append(espeak.synthesize(texts[voice], voice))

    threads = [threading.Thread(target=speak, args=(v,)) for v in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for voice, runs in results.items():
        for run in runs:
            assert _labels(run) == _labels(expected[voice])
            assert [w.text for w in run.words] == [w.text for w in expected[voice].words]
            assert run.duration == pytest.approx(expected[voice].duration, rel=0.1)


def test_missing_library_is_a_clear_engine_unavailable(monkeypatch):
    monkeypatch.setattr(espeak, "LIBRARY_NAMES", ("libespeak-ng-missing.so.9",))
    monkeypatch.setattr(espeak.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(espeak, "_library", espeak._Library())
    with pytest.raises(EngineUnavailable, match="libespeak-ng is not installed"):
        espeak.synthesize("Hello", "en")
    assert espeak.available() == (False, "libespeak-ng is not installed (Debian: apt-get install espeak-ng); exact phone timings need it")
