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


def test_online_providers_fail_fast_without_network(tmp_path, no_proxy_env):
    if tts._unreachable_reason(tts.EDGE_HOST) is None:
        pytest.skip("this machine can reach edge-tts; the offline fallback is not exercised")
    tts.reset_reachability_cache()
    started = time.monotonic()
    result = tts.synthesize(SENTENCE, "en-GB-SoniaNeural", tmp_path)
    elapsed = time.monotonic() - started
    assert elapsed < 15
    assert result.provider == "espeak-ng"
    assert [name for name, _ in result.attempts] == ["edge-tts", "gtts"]
    assert all(reason for _, reason in result.attempts)
    assert _duration(result.path) > 0.5


def test_online_deadlines_hold_when_the_network_hangs(tmp_path, blackhole_proxy):
    # Through a proxy that never answers, only our deadlines can end the online calls.
    started = time.monotonic()
    result = tts.synthesize("Hello.", "en-US-JennyNeural", tmp_path, online_timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert len(blackhole_proxy) >= 2  # both online providers really tried
    assert result.provider == "espeak-ng"
    reasons = dict(result.attempts)
    assert set(reasons) == {"edge-tts", "gtts"}
    assert "timed out" in reasons["edge-tts"]
    assert "timed out" in reasons["gtts"].lower() or "timeout" in reasons["gtts"].lower()


def test_reachability_is_cached(no_proxy_env):
    first = tts._unreachable_reason(tts.EDGE_HOST)
    started = time.monotonic()
    for _ in range(50):
        assert tts._unreachable_reason(tts.EDGE_HOST) == first
    assert time.monotonic() - started < 0.5


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
