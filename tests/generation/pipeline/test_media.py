"""The ffmpeg wrapper: commands built with ffmpeg-python, run without a shell, frames
piped in and out, and errors that carry ffmpeg's words but no server paths."""

from __future__ import annotations

import numpy as np
import pytest

from generation.pipeline import media
from generation.pipeline.errors import MediaError
from generation.pipeline.types import Encoding

FPS = 25


@pytest.fixture(scope="module")
def speech(tmp_path_factory, speech_wav):
    """Two seconds of the session's espeak-ng speech as 16 kHz mono WAV."""
    return media.normalize_audio(speech_wav, tmp_path_factory.mktemp("media") / "speech.wav", max_seconds=2.0)


def _frames(count: int, size=(96, 64)) -> list[np.ndarray]:
    """A grey ramp over time with a little fixed noise (so the encoder has detail to spend bits on)."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
    return [np.full((size[1], size[0], 3), 40 + 4 * i, np.uint8) + noise for i in range(count)]


def _encode(path, frames, speech, encoding=Encoding()):
    with media.FrameEncoder(path, size=(frames[0].shape[1], frames[0].shape[0]), fps=FPS, audio_path=speech,
                            duration=len(frames) / FPS, encoding=encoding) as encoder:
        for frame in frames:
            encoder.write(frame)
    return path


def test_normalize_audio_gives_mono_16k_pcm(speech):
    samples, rate = media.read_wav(speech)
    info = media.probe(speech)
    assert rate == media.SPEECH_SAMPLE_RATE_HZ and info.audio_codec == "pcm_s16le" and not info.has_video
    assert abs(len(samples) / rate - 2.0) < 0.01 and np.abs(samples).max() > 0.05


def test_frames_round_trip_through_the_pipes(tmp_path, speech):
    frames = _frames(50)
    out = _encode(tmp_path / "clip.mp4", frames, speech)
    info = media.probe(out)
    assert (info.width, info.height, info.nb_frames) == (96, 64, 50) and abs(info.fps - FPS) < 0.01
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p" and info.audio_codec == "aac"
    back = list(media.read_frames(out, size=(48, 32), fps=FPS))
    assert len(back) == 50 and back[0].shape == (32, 48, 3)
    means = [frame.mean() for frame in back]
    np.testing.assert_allclose(means, [frame.mean() for frame in frames], atol=4.0)


def test_encoding_settings_reach_the_encoder(tmp_path, speech):
    frames = _frames(25, size=(160, 120))
    fine = _encode(tmp_path / "fine.mp4", frames, speech, Encoding(preset="veryfast", crf=16))
    coarse = _encode(tmp_path / "coarse.mp4", frames, speech, Encoding(preset="veryfast", crf=40))
    assert coarse.stat().st_size < 0.7 * fine.stat().st_size
    encoder = media.FrameEncoder(tmp_path / "x.mp4", size=(160, 120), fps=FPS, audio_path=speech, duration=1.0,
                                 encoding=Encoding(preset="medium", crf=23))
    args = encoder.args
    assert args[args.index("-preset") + 1] == "medium" and args[args.index("-crf") + 1] == "23"


def test_still_video_holds_the_image_for_the_audio(tmp_path, astronaut_path, speech):
    out = media.still_video(astronaut_path, speech, tmp_path / "still.mp4", fps=FPS, size=(128, 128), duration=2.0)
    info = media.probe(out)
    assert (info.width, info.height) == (128, 128) and abs(info.duration - 2.0) < 0.1 and info.has_audio


def test_burned_captions_change_the_picture(tmp_path, speech):
    video = _encode(tmp_path / "plain.mp4", [np.full((240, 320, 3), 60, np.uint8)] * 50, speech)
    srt = tmp_path / "captions.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nHello: it's a \"test\", [really]!\n")
    burned = media.burn_subtitles(video, srt, tmp_path / "burned.mp4")
    before = media.extract_frame(video, 1.0, tmp_path / "before.png")
    after = media.extract_frame(burned, 1.0, tmp_path / "after.png")
    import cv2

    diff = np.abs(cv2.imread(str(after)).astype(int) - cv2.imread(str(before)).astype(int))
    assert diff[160:].max() > 100 and diff[:80].max() < 20  # text near the bottom, nothing at the top


def test_errors_carry_stderr_and_no_server_paths(tmp_path):
    junk = tmp_path / "not-audio.mp3"
    junk.write_bytes(b"\x00junk" * 100)
    with pytest.raises(MediaError) as caught:
        media.normalize_audio(junk, tmp_path / "out.wav")
    assert str(tmp_path) in caught.value.stderr  # the whole story stays for the logs
    assert "not-audio.mp3" in caught.value.detail and str(tmp_path) not in caught.value.detail


def test_arguments_never_reach_a_shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MediaError):
        media.run([media.ffmpeg_binary(), "-hide_banner", "-i", "nothing; touch pwned", "out.wav"])
    assert not (tmp_path / "pwned").exists()


def test_a_missing_ffmpeg_is_a_media_error(tmp_path, monkeypatch, speech):
    monkeypatch.setattr(media, "ffmpeg_binary", lambda: str(tmp_path / "no-ffmpeg"))
    with pytest.raises(MediaError, match="not installed"):
        media.normalize_audio(speech, tmp_path / "out.wav")
    with pytest.raises(MediaError, match="not installed"), media.FrameEncoder(
        tmp_path / "x.mp4", size=(16, 16), fps=FPS, audio_path=speech, duration=1.0
    ):
        pass


def test_burn_in_picks_a_font_for_the_script(tmp_path, speech, monkeypatch):
    """Hindi captions: the Devanagari font's family and folder reach the subtitles filter."""
    from generation.pipeline.captions import caption_font

    text = "नमस्ते दुनिया"
    font = caption_font(text)
    if font is None:
        pytest.skip("no installed font covers Devanagari (Debian: fonts-noto-core)")
    assert "Devanagari" in font.family
    commands = []
    real_run = media.run
    monkeypatch.setattr(media, "run", lambda args, **kw: commands.append(args) or real_run(args, **kw))
    video = _encode(tmp_path / "plain.mp4", [np.full((240, 320, 3), 60, np.uint8)] * FPS, speech)
    srt = tmp_path / "captions.srt"
    srt.write_text(f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n", encoding="utf-8")
    burned = media.burn_subtitles(video, srt, tmp_path / "burned.mp4", font_name=font.family, fonts_dir=font.directory)
    graph = commands[-1][commands[-1].index("-filter_complex") + 1]
    assert f"fontsdir={font.directory}" in graph
    assert f"FontName\\\\={font.family}" in graph and "FontSize\\\\=20" in graph  # ffmpeg-python's escaping
    before = media.extract_frame(video, 0.5, tmp_path / "before.png")
    after = media.extract_frame(burned, 0.5, tmp_path / "after.png")
    import cv2

    diff = np.abs(cv2.imread(str(after)).astype(int) - cv2.imread(str(before)).astype(int))
    assert diff[160:].max() > 100 and diff[:80].max() < 20
    assert abs(media.probe(burned).duration - media.probe(video).duration) < 0.1


def test_burn_in_without_a_font_keeps_libass_defaults(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(media, "run", lambda args, **kw: commands.append(args))
    srt = tmp_path / "captions.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    media.burn_subtitles(tmp_path / "in.mp4", srt, tmp_path / "out.mp4")
    graph = commands[0][commands[0].index("-filter_complex") + 1]
    assert "fontsdir" not in graph and "FontName" not in graph and "force_style" in graph


def test_audio_encoded_ahead_is_copied_into_the_video(tmp_path, speech):
    with media.AudioEncode(speech, tmp_path / "audio.m4a") as track:
        aac = track.path()
        assert track.path() == aac  # waits once
    info = media.probe(aac)
    assert info.audio_codec == "aac" and not info.has_video and abs(info.duration - 2.0) < 0.1
    frames = _frames(50)
    out = tmp_path / "copied.mp4"
    with media.FrameEncoder(out, size=(96, 64), fps=FPS, audio_path=aac, audio_encoded=True, duration=2.0) as encoder:
        assert encoder.args[encoder.args.index("-acodec") + 1] == "copy"
        for frame in frames:
            encoder.write(frame)
    video = media.probe(out)
    assert video.audio_codec == "aac" and video.nb_frames == 50 and abs(video.duration - 2.0) < 0.1
    import cv2

    cv2.imwrite(str(tmp_path / "still.png"), np.full((64, 64, 3), 90, np.uint8))
    still = media.still_video(tmp_path / "still.png", aac, tmp_path / "still.mp4", fps=FPS, size=(64, 64), duration=2.0,
                              audio_encoded=True)
    assert media.probe(still).audio_codec == "aac" and abs(media.probe(still).duration - 2.0) < 0.1


def test_audio_encode_failure_names_the_file_only_and_stops_cleanly(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"\x00junk" * 100)
    with media.AudioEncode(junk, tmp_path / "audio.m4a") as track:
        with pytest.raises(MediaError) as caught:
            track.path()
        with pytest.raises(MediaError):  # asked again (the next engine): the same answer
            track.path()
    assert "audio encode" in caught.value.detail and str(tmp_path) not in caught.value.detail
    # Left without waiting (the render failed earlier): the exit stops ffmpeg.
    with media.AudioEncode(junk, tmp_path / "other.m4a") as track:
        proc = track._proc
    assert proc.returncode is not None
