from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from generation.pipeline.speech.phonemes import (
    ARPABET,
    SILENCE,
    guess_pronunciation,
    normalize_phone,
    normalize_text,
)
from generation.pipeline.speech.timeline import _contiguous, load_audio, phone_timeline
from generation.pipeline.types import AudioClip
from paksatalker_site.errors import MediaError
from tests.media_factory import SENTENCES


def assert_contiguous(timeline):
    phones = timeline.phones
    assert phones[0].start == 0.0
    assert phones[-1].end == pytest.approx(timeline.duration, abs=1e-9)
    for a, b in zip(phones, phones[1:]):
        assert a.end == pytest.approx(b.start, abs=1e-9)
        assert a.end > a.start
    assert all(p.label in ARPABET or p.label == SILENCE for p in phones)


@pytest.fixture(scope="module")
def speech_clip(speech_wav, tmp_path_factory):
    return load_audio(speech_wav, tmp_path_factory.mktemp("speech"))


def test_load_audio_normalises_to_16k_mono(speech_clip):
    assert speech_clip.sample_rate == 16000
    assert speech_clip.samples.ndim == 1 and speech_clip.samples.dtype == np.float32
    assert 5.0 < speech_clip.duration < 9.0
    assert speech_clip.path.exists()


@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("ogg", "libvorbis")])
def test_load_audio_reads_compressed_formats(speech_wav, tmp_path, ext, codec):
    src = tmp_path / f"speech.{ext}"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(speech_wav), "-c:a", codec, str(src)], check=True)
    clip = load_audio(src, tmp_path / "work")
    assert clip.sample_rate == 16000
    assert 5.0 < clip.duration < 9.5
    assert float(np.abs(clip.samples).max()) > 0.05


def test_load_audio_rejects_text(tmp_path):
    bogus = tmp_path / "notes.mp3"
    bogus.write_text("this is not audio at all\n" * 20)
    with pytest.raises(MediaError):
        load_audio(bogus, tmp_path / "work")


def test_forced_alignment_of_known_text(speech_clip):
    timeline = phone_timeline(speech_clip, SENTENCES)
    assert timeline.method == "align", timeline.notes
    assert [w.text for w in timeline.words] == normalize_text(SENTENCES)
    assert_contiguous(timeline)
    words = timeline.words
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:]))
    # The M of the first "my" starts that word, inside the audio's first second and a half.
    my = next(w for w in words if w.text == "my")
    m = next(p for p in timeline.phones if p.label == "M" and p.start >= my.start - 1e-6)
    assert m.start == pytest.approx(my.start, abs=0.011)
    assert 0.6 < m.start < 1.8 and 0.02 <= m.end - m.start <= 0.2
    # The loudness envelope is normalised and spans the clip.
    assert timeline.envelope.max() == pytest.approx(1.0) and timeline.envelope.min() >= 0.0
    assert timeline.envelope_times[-1] == pytest.approx(speech_clip.duration, abs=0.03)


def test_alignment_guesses_unknown_words(speech_clip):
    timeline = phone_timeline(speech_clip, SENTENCES)
    assert any("paksa" in note for note in timeline.notes)
    paksa = next(w for w in timeline.words if w.text == "paksa")
    labels = [p.label for p in timeline.phones if paksa.start - 1e-6 <= p.start < paksa.end]
    assert labels[0] == "P"


def test_allphone_without_text(speech_clip):
    timeline = phone_timeline(speech_clip)
    assert timeline.method == "allphone", timeline.notes
    assert_contiguous(timeline)
    speech = [p for p in timeline.phones if p.end > 0.1 and p.start < 1.0]
    assert any(p.label != SILENCE for p in speech)
    assert sum(p.label != SILENCE for p in timeline.phones) > 25


def test_wrong_text_does_not_break_timeline(speech_clip):
    timeline = phone_timeline(speech_clip, "banana")
    assert timeline.method in ("allphone", "energy")
    assert timeline.notes
    assert_contiguous(timeline)


def _tone_bursts(sr=16000):
    t = np.arange(int(3.0 * sr)) / sr
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6)) * 0.2
    gate = np.zeros_like(t)
    for start in (0.3, 1.2, 2.1):
        gate[(t >= start) & (t < start + 0.45)] = 1.0
    noise = np.random.default_rng(1).normal(0.0, 1e-4, len(t))
    return (tone * gate + noise).astype(np.float32)


def test_energy_fallback_on_tone_bursts():
    clip = AudioClip(path=Path("tones.wav"), samples=_tone_bursts(), sample_rate=16000)
    timeline = phone_timeline(clip)
    assert timeline.method == "energy"
    assert_contiguous(timeline)

    def label_at(t):
        return next(p.label for p in timeline.phones if p.start <= t < p.end)

    for start in (0.3, 1.2, 2.1):
        assert label_at(start + 0.2) != SILENCE
    for gap in (0.1, 1.0, 1.9, 2.8):
        assert label_at(gap) == SILENCE


def test_silent_audio_is_all_silence():
    clip = AudioClip(path=Path("quiet.wav"), samples=np.zeros(16000, np.float32), sample_rate=16000)
    timeline = phone_timeline(clip, "hello")
    assert [p.label for p in timeline.phones] == [SILENCE]
    assert timeline.method == "energy"


def test_contiguous_fills_gaps_and_clips_overlaps():
    phones = _contiguous([("AA", 0.1, 0.5), ("B", 0.4, 0.6), ("SIL", 0.8, 0.9)], 1.0)
    assert [(p.label, p.start, p.end) for p in phones] == [
        ("SIL", 0.0, 0.1), ("AA", 0.1, 0.5), ("B", 0.5, 0.6), ("SIL", 0.6, 1.0)]


def test_text_normalisation():
    assert normalize_text("I'm 21, it's 3.5% off & $12!") == [
        "i'm", "twenty", "one", "it's", "three", "point", "five", "percent", "off", "and", "twelve", "dollars"]
    assert normalize_text("The 2nd of 1999") == ["the", "second", "of", "one", "thousand", "nine", "hundred", "ninety", "nine"]
    assert normalize_phone("AH0") == "AH" and normalize_phone("+NSN+") == SILENCE and normalize_phone("sil") == SILENCE
    assert guess_pronunciation("paksa") == "P AE K S AH"
    assert guess_pronunciation("zorbane").split()[0] == "Z"


def test_transcribed_words_for_uploaded_audio(speech_clip):
    timeline = phone_timeline(speech_clip, transcribe_words=True)
    assert timeline.method == "allphone"
    assert any(note.startswith("transcript confidence") for note in timeline.notes)
    assert len(timeline.words) >= 5
    assert all(0.0 <= w.start < w.end <= timeline.duration + 0.02 for w in timeline.words)
    assert all(a.start <= b.start for a, b in zip(timeline.words, timeline.words[1:]))
