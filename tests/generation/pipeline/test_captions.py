from __future__ import annotations

import re

import numpy as np
import pytest

from generation.pipeline.captions import (
    MAX_CUE_SECONDS,
    MAX_LINE_CHARS,
    Cue,
    caption_font,
    captions_from_text_estimate,
    captions_from_timeline,
    srt_text,
    vtt_text,
    write_srt,
    write_vtt,
)
from generation.pipeline.speech.timeline import load_audio, phone_timeline
from generation.pipeline.speech.units import TimedUnit
from generation.pipeline.types import PhoneTimeline, Word
from tests.media_factory import PHRASES, SENTENCES, espeak_speech, espeak_wav

VTT_TIME = r"\d{2}:\d{2}:\d{2}\.\d{3}"
SRT_TIME = r"\d{2}:\d{2}:\d{2},\d{3}"


def _timeline(words: list[tuple[str, float, float]], duration: float | None = None) -> PhoneTimeline:
    timed = [Word(*w) for w in words]
    return PhoneTimeline(phones=[], words=timed, duration=duration or (timed[-1].end + 0.5 if timed else 1.0), method="align")


def _flat(cues: list[Cue]) -> str:
    return " ".join(c.text.replace("\n", " ") for c in cues)


@pytest.fixture(scope="module")
def aligned(speech_wav, tmp_path_factory):
    clip = load_audio(speech_wav, tmp_path_factory.mktemp("captions"))
    timeline = phone_timeline(clip, SENTENCES)
    assert timeline.method in ("align", "align-dtw") and timeline.words
    return timeline


def test_real_alignment_gives_the_typed_sentences_with_matching_times(aligned):
    cues = captions_from_timeline(aligned, SENTENCES)
    assert _flat(cues) == SENTENCES  # punctuation and capitals from the typed text
    assert abs(cues[0].start - aligned.words[0].start) < 0.001
    assert aligned.words[-1].end - 1e-9 <= cues[-1].end <= aligned.duration + 1e-9
    # Sentence ends break cues: "Hello there." stands alone.
    assert cues[0].text == "Hello there."
    assert cues[0].end >= aligned.words[1].end - 1e-9 and cues[0].end <= cues[1].start
    for a, b in zip(cues, cues[1:]):
        assert a.end <= b.start + 1e-9 and a.start < a.end
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= MAX_LINE_CHARS for line in lines)
        assert cue.end - cue.start <= MAX_CUE_SECONDS + 1e-9
    # Each cue spans exactly the aligned words it shows (start of its first word).
    starts = {round(w.start, 6) for w in aligned.words}
    assert all(round(c.start, 6) in starts for c in cues)


def test_numbers_and_symbols_map_back_to_what_was_typed():
    # What the aligner returns for "It costs $5, Dr. Who said!" after normalisation.
    timeline = _timeline([("it", 0.10, 0.25), ("costs", 0.25, 0.60), ("five", 0.62, 0.90), ("dollars", 0.90, 1.30),
                          ("dr", 1.35, 1.70), ("who", 1.70, 1.95), ("said", 1.95, 2.30)])
    cues = captions_from_timeline(timeline, "It costs $5, Dr. Who said!")
    assert [c.text for c in cues] == ["It costs $5, Dr.", "Who said!"]
    assert cues[0].start == pytest.approx(0.10) and cues[0].end == pytest.approx(1.70)
    assert cues[1].start == pytest.approx(1.70) and cues[1].end == pytest.approx(2.50)  # stretched to 0.8 s


def test_multi_word_numbers_and_dropped_punctuation_tokens():
    timeline = _timeline([("we", 0.0, 0.2), ("have", 0.2, 0.4), ("forty", 0.4, 0.7), ("two", 0.7, 0.9), ("cats", 0.9, 1.3)])
    cues = captions_from_timeline(timeline, "We have 42 \u2014 cats")
    assert _flat(cues) == "We have 42 \u2014 cats"
    assert cues[0].end == pytest.approx(1.3)


def test_pauses_and_long_speech_split_cues():
    words = [(f"w{i}", i * 0.3, i * 0.3 + 0.25) for i in range(40)]  # 12 s of short words, no pauses
    words.insert(5, ("after", 5 * 0.3 - 0.05, 5 * 0.3 + 0.1))
    cues = captions_from_timeline(_timeline(sorted(words, key=lambda w: w[1])))
    assert all(c.end - c.start <= MAX_CUE_SECONDS for c in cues)
    paused = _timeline([("one", 0.0, 0.3), ("two", 0.3, 0.6), ("three", 1.2, 1.5)])  # 0.6 s pause
    assert [c.text for c in captions_from_timeline(paused)] == ["One two", "three"]


def test_long_sentence_wraps_in_balanced_lines():
    text = "this sentence is long enough that it needs two lines on the screen to be read comfortably"
    words = [(w, i * 0.2, i * 0.2 + 0.18) for i, w in enumerate(text.split())]
    cues = captions_from_timeline(_timeline(words), text)
    assert _flat(cues) == text
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert any(len(c.text.split("\n")) == 2 for c in cues)


def test_text_that_does_not_match_falls_back_to_aligned_words():
    timeline = _timeline([("hello", 0.0, 0.4), ("world", 0.4, 0.8)])
    cues = captions_from_timeline(timeline, "Completely different words here")
    assert _flat(cues) == "Hello world"


def test_no_words_no_cues():
    assert captions_from_timeline(PhoneTimeline(phones=[], words=[], duration=2.0, method="energy"), "Hi") == []


def test_vtt_and_srt_formats(tmp_path):
    cues = [Cue(0.5, 1.25, "Hello <there> & you"), Cue(3661.001, 3662.5, "line one\nline two")]
    vtt = write_vtt(cues, tmp_path / "c.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:00.500 --> 00:00:01.250\nHello &lt;there&gt; &amp; you\n" in vtt
    assert "01:01:01.001 --> 01:01:02.500\nline one\nline two\n" in vtt
    assert len(re.findall(rf"^{VTT_TIME} --> {VTT_TIME}$", vtt, re.M)) == 2
    srt = write_srt(cues, tmp_path / "c.srt").read_text(encoding="utf-8")
    blocks = srt.strip().split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == ["1", "2"]
    assert blocks[0] == "1\n00:00:00,500 --> 00:00:01,250\nHello <there> & you"
    assert re.fullmatch(rf"{SRT_TIME} --> {SRT_TIME}", blocks[1].split("\n")[1])
    assert vtt_text([]) == "WEBVTT\n" and srt_text([]) == ""


def test_transcribed_upload_without_text(tmp_path):
    wav = espeak_wav(tmp_path / "hello.wav", "Hello world. This is a test.")
    timeline = phone_timeline(load_audio(wav, tmp_path), "", transcribe_words=True)
    cues = captions_from_timeline(timeline)
    assert cues and cues[0].start == pytest.approx(timeline.words[0].start, abs=0.001)
    assert all(c.text.strip() for c in cues)


def test_estimated_captions_follow_the_speech_when_nothing_aligned():
    """Text that could not be aligned is still captioned, spread over the loud spans."""
    times = np.arange(0, 4.0, 0.01)
    level = ((times > 0.5) & (times < 1.5)) | ((times > 2.5) & (times < 3.5))
    timeline = PhoneTimeline(phones=[], words=[], duration=4.0, method="allphone",
                             envelope_times=times, envelope=level.astype(float))
    cues = captions_from_text_estimate(timeline, "Guten Morgen. Wie geht es Ihnen heute?")
    assert cues and " ".join(c.text.replace("\n", " ") for c in cues) == "Guten Morgen. Wie geht es Ihnen heute?"
    assert 0.45 <= cues[0].start <= 0.55  # starts where the speech starts, not at 0
    assert cues[-1].end <= 4.0
    starts = [c.start for c in cues]
    assert starts == sorted(starts)


@pytest.mark.parametrize("lang,voice", [("ru", "ru"), ("hi", "hi"), ("ar", "ar"), ("el", "el")])
def test_tts_word_events_caption_every_script(lang, voice, tmp_path):
    speech = espeak_speech(PHRASES[lang], voice)
    clip = load_audio(speech.write_wav(tmp_path / f"{lang}.wav"), tmp_path / lang)
    timeline = phone_timeline(clip, timing=speech.timing(lang))
    cues = captions_from_timeline(timeline, PHRASES[lang])
    # The typed text, punctuation included, timed by the synthesiser's own word events.
    assert _flat(cues) == PHRASES[lang]
    assert cues[0].start == pytest.approx(speech.words[0].start)
    assert len(cues) == 2  # one cue per sentence
    assert cues[1].start == pytest.approx(speech.words[len(cues[0].text.split())].start)
    assert "WEBVTT" in vtt_text(cues) and PHRASES[lang].split()[0] in srt_text(cues)


def test_unspaced_scripts_join_without_spaces():
    timeline = PhoneTimeline(phones=[], words=[Word("你好", 0.1, 0.5), Word("世界", 0.5, 0.9), Word("Paksa", 1.0, 1.4)],
                             duration=2.0, method="tts-events")
    cues = captions_from_timeline(timeline, "你好世界 Paksa")
    assert _flat(cues) == "你好世界 Paksa"


@pytest.mark.parametrize("text,family", [("नमस्ते", "Noto Sans Devanagari"), ("مرحبا", "Noto Sans Arabic"),
                                         ("Привет, Γειά", "Noto Sans"), ("Hello", "Noto Sans")])
def test_burn_in_font_covers_the_script(text, family):
    font = caption_font(text)
    assert font is not None and font.family == family and font.directory.is_dir()
    assert caption_font("123 !?") is None


def test_timed_units_are_plain_data():
    assert TimedUnit("a", 0.0, 1.0) == TimedUnit("a", 0.0, 1.0)
