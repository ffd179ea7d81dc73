"""The orchestrator's speech wiring: which language the phones are timed in, and the
caption font for burn-in. Fast: no engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from generation.pipeline import media, render
from generation.pipeline.render import SpeechResult
from generation.pipeline.types import PhoneTimeline, RenderRequest, Word


def _request(tmp_path: Path, **fields) -> RenderRequest:
    return RenderRequest(output_path=tmp_path / "out.mp4", work_dir=tmp_path, **fields)


def test_text_spoken_by_tts_is_in_the_voice_language(tmp_path):
    spoken = SpeechResult(path=tmp_path / "tts.wav", provider="gtts", language="es-ES")
    # A language sent with text does not override the voice: the voice spoke it.
    request = _request(tmp_path, text="Hola.", language="de")
    assert render._speech_language(request, spoken, request.text) == ("es-ES", "voice")


def test_uploaded_audio_uses_the_given_language(tmp_path):
    request = _request(tmp_path, audio_path=tmp_path / "a.wav", transcript="Guten Morgen.", language="de")
    uploaded = SpeechResult(path=request.audio_path, provider="")
    assert render._speech_language(request, uploaded, request.transcript) == ("de", "given")


@pytest.mark.parametrize(("transcript", "expected"), [
    ("Buenos días, me llamo Pablo y vivo en una casa muy bonita.", ("es", "detected")),
    ("Папа купил большой барабан.", ("ru", "detected")),
    ("ok", ("en", "fallback")),
])
def test_without_a_language_the_transcript_tells(tmp_path, transcript, expected):
    request = _request(tmp_path, audio_path=tmp_path / "a.wav", transcript=transcript)
    uploaded = SpeechResult(path=request.audio_path, provider="")
    assert render._speech_language(request, uploaded, transcript) == expected


def test_audio_alone_needs_no_language(tmp_path):
    request = _request(tmp_path, audio_path=tmp_path / "a.wav")
    assert render._speech_language(request, SpeechResult(path=request.audio_path, provider=""), "") == ("", "none")


def test_burned_captions_get_a_font_for_their_script(tmp_path, monkeypatch):
    from generation.pipeline.captions import caption_font

    text = "बाबा पानी में बैठे।"
    font = caption_font(text)
    if font is None:
        pytest.skip("no installed font covers Devanagari (Debian: fonts-noto-core)")
    calls = []

    def burn(video, subtitles, out, **kwargs):
        calls.append(kwargs)
        Path(out).write_bytes(b"burned")
        return out

    monkeypatch.setattr(media, "burn_subtitles", burn)
    request = _request(tmp_path, transcript=text, captions="burn")
    request.output_path.write_bytes(b"video")
    words = [Word("बाबा", 0.1, 0.5), Word("पानी", 0.5, 0.9), Word("में", 0.9, 1.1), Word("बैठे।", 1.1, 1.6)]
    timeline = PhoneTimeline(phones=[], words=words, duration=2.0, method="align-dtw")
    vtt, srt, note = render._captions(request, timeline, text, lambda percent, stage: None)
    assert vtt and srt and text in srt.read_text(encoding="utf-8")
    assert calls == [{"encoding": request.encoding, "font_name": font.family, "fonts_dir": font.directory}]
    assert "Devanagari" in font.family and font.family in note
    assert request.output_path.read_bytes() == b"burned"
