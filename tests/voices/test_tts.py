from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from generation.pipeline import media
from paksatalker_site.errors import TTSError, ValidationFailed
from voices import services, tts

SENTENCE = "Hello there, this is a test of the offline speech chain."
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "WSS_PROXY", "wss_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def _fresh_reachability():
    tts.reset_reachability_cache()
    yield
    tts.reset_reachability_cache()


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def blackhole_proxy(monkeypatch):
    """A proxy that accepts connections and never answers: the worst network there is."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "WSS_PROXY", "wss_proxy"):
        monkeypatch.setenv(name, url)
    yield accepted
    server.close()
    for conn in accepted:
        conn.close()


def _duration(path: Path) -> float:
    info = media.probe(path)
    assert info.has_audio
    return info.duration


def test_offline_chain_writes_real_wav(tmp_path):
    result = tts.synthesize(SENTENCE, "en-US-JennyNeural", tmp_path, providers=("espeak",))
    assert result.provider == "espeak-ng"
    assert result.attempts == []
    assert result.path.parent == tmp_path and result.path.suffix == ".wav"
    assert media.probe(result.path).audio_codec.startswith("pcm")
    assert _duration(result.path) > 0.5


@pytest.mark.parametrize(
    ("voice_id", "text"),
    [("de-DE-KatjaNeural", "Guten Tag, wie geht es Ihnen heute?"), ("zh-CN-XiaoxiaoNeural", "你好，很高兴认识你。"), ("ar-EG-SalmaNeural", "مرحبا بكم")],
)
def test_offline_speaks_other_languages(tmp_path, voice_id, text):
    result = tts.synthesize(text, voice_id, tmp_path, providers=("espeak",))
    assert _duration(result.path) > 0.5


def _offline_fallback(tmp_path):
    if tts._unreachable_reason(tts.EDGE_HOST) is None:
        pytest.skip("this machine can reach edge-tts; the offline fallback is not exercised")
    tts.reset_reachability_cache()
    result = tts.synthesize(SENTENCE, "en-GB-SoniaNeural", tmp_path)
    assert result.provider == "espeak-ng"
    assert [name for name, _ in result.attempts] == ["edge-tts", "gtts"]
    assert all(reason for _, reason in result.attempts)
    assert _duration(result.path) > 0.5


def test_online_providers_fall_back_without_network(tmp_path, no_proxy_env):
    _offline_fallback(tmp_path)


@pytest.mark.bench
def test_online_providers_fail_fast_without_network(tmp_path, no_proxy_env):
    started = time.monotonic()
    _offline_fallback(tmp_path)
    assert time.monotonic() - started < 15


def _hung_network(tmp_path, blackhole_proxy):
    # Through a proxy that never answers, only our deadlines can end the online calls.
    result = tts.synthesize("Hello.", "en-US-JennyNeural", tmp_path, online_timeout_s=1.0)
    assert len(blackhole_proxy) >= 2  # both online providers really tried
    assert result.provider == "espeak-ng"
    reasons = dict(result.attempts)
    assert set(reasons) == {"edge-tts", "gtts"}
    assert "timed out" in reasons["edge-tts"]
    assert "timed out" in reasons["gtts"].lower() or "timeout" in reasons["gtts"].lower()


def test_online_deadlines_end_calls_when_the_network_hangs(tmp_path, blackhole_proxy):
    _hung_network(tmp_path, blackhole_proxy)


@pytest.mark.bench
def test_online_deadlines_hold_when_the_network_hangs(tmp_path, blackhole_proxy):
    started = time.monotonic()
    _hung_network(tmp_path, blackhole_proxy)
    assert time.monotonic() - started < 10


def test_reachability_is_cached(no_proxy_env, monkeypatch):
    """One connection attempt answers every question about a host until the cache is reset."""
    attempts = []

    def refuse(address, timeout=None):
        attempts.append(address)
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(tts.socket, "create_connection", refuse)
    first = tts._unreachable_reason(tts.EDGE_HOST)
    assert first and "unreachable" in first
    for _ in range(50):
        assert tts._unreachable_reason(tts.EDGE_HOST) == first
    assert attempts == [(tts.EDGE_HOST, 443)]
    tts.reset_reachability_cache()
    tts._unreachable_reason(tts.EDGE_HOST)
    assert len(attempts) == 2


def test_leading_dash_text_is_spoken_not_parsed(tmp_path):
    evil = tmp_path / "evil.wav"
    text = f"-w {evil} --help minus sign then words to speak"
    result = tts.synthesize(text, "en-US-GuyNeural", tmp_path / "out", providers=("espeak",))
    assert not evil.exists()
    assert _duration(result.path) > 1.5  # the whole line was read aloud


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_422(tmp_path, text):
    with pytest.raises(ValidationFailed) as info:
        tts.synthesize(text, "en-US-JennyNeural", tmp_path, providers=("espeak",))
    assert info.value.status_code == 422


def test_unknown_voice_is_422_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValidationFailed) as info:
        tts.synthesize("Hello.", "xx-XX-NobodyNeural", out, providers=("espeak",))
    assert info.value.status_code == 422
    assert "xx-XX-NobodyNeural" in info.value.detail
    assert not out.exists()


def test_unknown_provider_is_422(tmp_path):
    with pytest.raises(ValidationFailed):
        tts.synthesize("Hello.", "en-US-JennyNeural", tmp_path, providers=("espeak", "festival"))


def test_all_providers_failing_raises_tts_error_with_reasons(tmp_path):
    # gTTS has no Kazakh: a real, offline failure of the only provider asked for.
    with pytest.raises(TTSError) as info:
        tts.synthesize("Сәлем", "kk-KZ-AigulNeural", tmp_path, providers=("gtts",))
    assert info.value.status_code == 502
    assert "gtts" in info.value.detail and "Kazakh" in info.value.detail
    assert info.value.extra["attempts"] == [("gtts", "gTTS has no voice for Kazakh (Kazakhstan)")]


def test_service_validates_and_synthesizes(tmp_path):
    result = services.voice_synthesize(text="Good morning.", voice_id="fr-FR-DeniseNeural", out_dir=tmp_path, providers=("espeak",), online_timeout_s=1.0)
    assert result.provider == "espeak-ng"
    assert _duration(result.path) > 0.5
    with pytest.raises(ValidationFailed):
        services.voice_synthesize(text="Hi", voice_id="nope", out_dir=tmp_path, providers=("espeak",), online_timeout_s=1.0)


# --- timings from the providers themselves ---------------------------------------


def test_espeak_reports_its_phone_events(tmp_path):
    result = tts.synthesize("Pablo bebe un poco de vino.", "es-ES-ElviraNeural", tmp_path, providers=("espeak",))
    timing = result.timing
    assert timing is not None and timing.source == "espeak-events"
    assert result.language == timing.language == "es-ES"
    assert [w.text for w in timing.words] == ["Pablo", "bebe", "un", "poco", "de", "vino"]
    from generation.pipeline.speech.inventory import BILABIAL, phone_info

    # Pablo, bebe, un poco: p, β (Spanish b between vowels), β, β, m (un before p), p, ..., β (vino)
    assert sum(phone_info(p.text).kind == BILABIAL for p in timing.phones) >= 6
    # The phones cover the very audio that was written, end to end.
    assert timing.phones[0].start == 0.0
    assert abs(timing.phones[-1].end - _duration(result.path)) < 0.02


def test_espeak_command_speaks_when_the_library_is_missing(tmp_path, monkeypatch):
    from generation.pipeline.errors import EngineUnavailable
    from generation.pipeline.speech import espeak

    def missing(*args, **kwargs):
        raise EngineUnavailable("libespeak-ng is not installed")

    monkeypatch.setattr(espeak, "synthesize", missing)
    result = tts.synthesize("Guten Tag.", "de-DE-KatjaNeural", tmp_path, providers=("espeak",))
    assert result.provider == "espeak-ng" and result.timing is None  # spoken, but without phone times
    assert _duration(result.path) > 0.5


@pytest.fixture
def fake_edge(monkeypatch, tmp_path):
    """edge-tts answering from a canned stream: espeak-ng's MP3 and its word times as WordBoundary chunks."""
    import edge_tts

    from generation.pipeline.speech import espeak

    text = "Pablo bebe un poco de vino."
    speech = espeak.synthesize(text, "es")
    wav = speech.write_wav(tmp_path / "canned.wav")
    mp3 = tmp_path / "canned.mp3"
    media.run([media.ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-i", str(wav), "-ac", "1", "-b:a", "64k", str(mp3)])
    ticks = 10_000_000
    chunks = [{"type": "WordBoundary", "offset": round(w.start * ticks), "duration": round((w.end - w.start) * ticks),
               "text": w.text} for w in speech.words]
    calls = []

    class Communicate:
        def __init__(self, text, voice, **kwargs):
            calls.append({"text": text, "voice": voice, **kwargs})

        async def stream(self):
            for chunk in chunks:
                yield dict(chunk)
            yield {"type": "audio", "data": mp3.read_bytes()}

    monkeypatch.setattr(edge_tts, "Communicate", Communicate)
    monkeypatch.setattr(tts, "_unreachable_reason", lambda host, port=443: None)
    return {"text": text, "calls": calls, "chunks": chunks, "speech": speech}


def test_edge_word_boundaries_become_phone_timing(tmp_path, fake_edge):
    result = tts.synthesize(fake_edge["text"], "es-ES-ElviraNeural", tmp_path / "out", providers=("edge",))
    assert result.provider == "edge-tts" and result.path.suffix == ".mp3"
    assert fake_edge["calls"][0]["boundary"] == "WordBoundary"  # edge-tts 7 sends sentences unless asked
    assert fake_edge["calls"][0]["voice"] == "es-ES-ElviraNeural"
    timing = result.timing
    assert timing is not None and timing.source == "word-boundaries" and timing.language == "es-ES"
    assert [w.text for w in timing.words] == ["Pablo", "bebe", "un", "poco", "de", "vino"]
    # Each word's span is shared among its espeak-ng phonemes; bilabials fall inside their words.
    for word in timing.words:
        inside = [p for p in timing.phones if word.start - 1e-6 <= p.start and p.end <= word.end + 1e-6]
        assert inside, word
    pablo = timing.words[0]
    assert [p.text for p in timing.phones if pablo.start - 1e-6 <= p.start < pablo.end][:1] == ["p"]
    assert abs(timing.phones[-1].end - _duration(result.path)) < 0.06


def test_edge_without_boundaries_has_no_timing(tmp_path, fake_edge):
    fake_edge["chunks"].clear()
    result = tts.synthesize(fake_edge["text"], "es-ES-ElviraNeural", tmp_path, providers=("edge",))
    assert result.provider == "edge-tts" and result.timing is None  # the render aligns the words instead
