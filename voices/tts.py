"""The TTS provider chain: edge-tts, then gTTS, then espeak-ng (offline).

Django-free. Online providers must fail fast without a network: a cached
reachability probe skips them in milliseconds, and every online call runs
under a hard deadline, so a dead network costs seconds, never minutes.

Where a provider says when it spoke what, the result carries that timing for
the mouth: espeak-ng (libespeak-ng) reports every phone, edge-tts every word
(spread over espeak-ng's phonemes of that word); gTTS reports nothing, so its
audio is aligned to the text later.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from generation.pipeline import media
from generation.pipeline.errors import EngineUnavailable, InvalidOption
from generation.pipeline.speech.units import SpeechTiming
from paksatalker_site.errors import MediaError, TTSError, ValidationFailed
from voices.catalog import Voice, voice_get

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROVIDER_LABELS = {"edge": "edge-tts", "gtts": "gtts", "espeak": "espeak-ng"}
DEFAULT_PROVIDERS: tuple[str, ...] = ("edge", "gtts", "espeak")

EDGE_HOST = "speech.platform.bing.com"
REACHABILITY_TIMEOUT_S = 1.5
REACHABILITY_TTL_S = 60.0
# Online deadline grows with the text: the services stream audio in chunks.
ONLINE_SECONDS_PER_CHAR = 0.01
MAX_TEXT_CHARS = 20000


@dataclass
class TTSResult:
    path: Path
    provider: str  # "edge-tts" | "gtts" | "espeak-ng"
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (provider, why it failed)
    # When each phone was spoken, from the provider itself; None when it does not say (gTTS,
    # the espeak-ng command) or espeak-ng cannot phonemize the language (edge-tts words).
    timing: SpeechTiming | None = None
    language: str = ""  # the voice's BCP-47 locale, e.g. "es-ES"


@dataclass
class _Spoken:
    path: Path
    timing: SpeechTiming | None = None


class _ProviderFailed(Exception):
    """One provider could not speak; the chain moves on."""


# --- reachability, checked once per host and cached ---

_reach_lock = threading.Lock()
_reach_cache: dict[tuple[str, int], tuple[float, str | None]] = {}


def reset_reachability_cache() -> None:
    with _reach_lock:
        _reach_cache.clear()


def _proxy_configured() -> bool:
    # Behind a proxy the direct DNS/TCP probe says nothing; the deadlines still apply.
    proxies = urllib.request.getproxies()
    return any(proxies.get(k) for k in ("https", "wss", "all"))


def _unreachable_reason(host: str, port: int = 443) -> str | None:
    """None when a TCP connection to host:port opens within ~1.5 s, else why not (cached ~60 s)."""
    if _proxy_configured():
        return None
    key = (host, port)
    now = time.monotonic()
    with _reach_lock:
        cached = _reach_cache.get(key)
        if cached and now - cached[0] < REACHABILITY_TTL_S:
            return cached[1]

    def connect() -> None:
        with socket.create_connection((host, port), timeout=REACHABILITY_TIMEOUT_S):
            pass

    try:
        # getaddrinfo has no timeout of its own, hence the thread deadline.
        _call_with_deadline(connect, REACHABILITY_TIMEOUT_S + 0.5)
        reason = None
    except TimeoutError:
        reason = f"{host} did not answer within {REACHABILITY_TIMEOUT_S:.1f} s"
    except OSError as exc:
        reason = f"{host} is unreachable ({exc})"
    with _reach_lock:
        _reach_cache[key] = (time.monotonic(), reason)
    return reason


def _call_with_deadline(fn: Callable[[], T], deadline_s: float) -> T:
    """Run fn in a daemon thread; TimeoutError when it has not returned by the deadline.

    A late thread is abandoned, so fn must not write shared state (callers
    return bytes and write files themselves).
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="tts-deadline", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {deadline_s:.1f} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _online_deadline(text: str, timeout_s: float) -> float:
    return timeout_s + len(text) * ONLINE_SECONDS_PER_CHAR


# --- providers: each returns the audio path or raises _ProviderFailed ---


def _edge(text: str, voice: Voice, out_dir: Path, timeout_s: float) -> _Spoken:
    if reason := _unreachable_reason(EDGE_HOST):
        raise _ProviderFailed(f"skipped: {reason}")
    try:
        import edge_tts
    except ImportError as exc:
        raise _ProviderFailed(f"edge-tts is not installed ({exc})") from exc

    deadline = _online_deadline(text, timeout_s)

    async def speak() -> tuple[bytes, list[dict]]:
        # edge-tts 7 reports sentence boundaries unless asked for words.
        communicate = edge_tts.Communicate(text, voice.voice_id, boundary="WordBoundary",
                                           connect_timeout=max(1, math.ceil(timeout_s)), receive_timeout=max(1, math.ceil(deadline)))
        buf = io.BytesIO()
        boundaries: list[dict] = []
        async for chunk in communicate.stream():
            if chunk["type"] == "audio":
                buf.write(chunk["data"])
            elif chunk["type"] == "WordBoundary":
                boundaries.append(dict(chunk))
        return buf.getvalue(), boundaries

    async def bounded() -> tuple[bytes, list[dict]]:
        return await asyncio.wait_for(speak(), timeout=deadline)

    try:
        # asyncio.run needs a thread without a running loop; the worker thread has none,
        # and the outer deadline is a backstop should the loop itself hang.
        audio, boundaries = _call_with_deadline(lambda: asyncio.run(bounded()), deadline + 1.0)
    except TimeoutError:
        raise _ProviderFailed(f"timed out after {deadline:.1f} s") from None
    except Exception as exc:  # edge-tts raises aiohttp, websocket and its own errors
        raise _ProviderFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
    path, info = _write_audio(audio, out_dir, "edge", "mp3")
    return _Spoken(path, _edge_timing(boundaries, voice, info.duration))


def _edge_timing(boundaries: list[dict], voice: Voice, duration: float) -> SpeechTiming | None:
    """edge-tts word boundaries as phone timing in the voice's language (None if espeak-ng lacks it)."""
    from generation.pipeline.speech.boundaries import edge_word_boundaries
    from generation.pipeline.speech.timeline import timing_from_word_boundaries

    words = edge_word_boundaries(boundaries)
    if not words:
        logger.info("edge-tts sent no word boundaries for %s; the words will be aligned instead", voice.voice_id)
        return None
    try:
        return timing_from_word_boundaries(words, voice.language_code, duration)
    except (EngineUnavailable, InvalidOption) as exc:  # the audio is fine; only its phones are unknown
        logger.info("no phonemes for edge-tts words in %s (%s); the words will be aligned instead", voice.language_code, exc.detail)
        return None


def _gtts(text: str, voice: Voice, out_dir: Path, timeout_s: float) -> _Spoken:
    if not voice.gtts_lang:
        raise _ProviderFailed(f"gTTS has no voice for {voice.language}")
    host = f"translate.google.{voice.gtts_tld}"
    if reason := _unreachable_reason(host):
        raise _ProviderFailed(f"skipped: {reason}")
    try:
        from gtts import gTTS
    except ImportError as exc:
        raise _ProviderFailed(f"gTTS is not installed ({exc})") from exc

    deadline = _online_deadline(text, timeout_s)

    def speak() -> bytes:
        buf = io.BytesIO()
        # timeout bounds each HTTP request; the thread deadline bounds them all.
        gTTS(text, lang=voice.gtts_lang, tld=voice.gtts_tld, timeout=timeout_s).write_to_fp(buf)
        return buf.getvalue()

    try:
        audio = _call_with_deadline(speak, deadline)
    except TimeoutError:
        raise _ProviderFailed(f"timed out after {deadline:.1f} s") from None
    except Exception as exc:  # gTTSError, requests errors, AssertionError on bad text
        cause = exc.__cause__ or exc.__context__
        # gTTSError hides the network reason ("Probable cause: Unknown"); keep it.
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        raise _ProviderFailed(f"{type(exc).__name__}: {exc}{detail}"[:500]) from exc
    return _Spoken(_write_audio(audio, out_dir, "gtts", "mp3")[0])  # gTTS says nothing of its timing


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def _espeak(text: str, voice: Voice, out_dir: Path, timeout_s: float) -> _Spoken:
    """libespeak-ng with its phoneme events; the espeak-ng command (no timing) without the library."""
    from generation.pipeline.speech import espeak

    try:
        speech = espeak.synthesize(text, voice.espeak_voice)
    except EngineUnavailable as exc:
        logger.info("libespeak-ng unavailable (%s); speaking with the espeak-ng command, without phone timings", exc.detail)
        return _Spoken(_espeak_command(text, voice, out_dir))
    except InvalidOption as exc:
        raise _ProviderFailed(exc.detail) from exc
    if len(speech.samples) == 0:
        raise _ProviderFailed("produced no audio")
    # Written from samples we hold, so there is nothing for ffprobe to find out.
    out = speech.write_wav(out_dir / f"tts-espeak-{uuid.uuid4().hex[:12]}.wav")
    return _Spoken(out, speech.timing(voice.language_code))


def _espeak_command(text: str, voice: Voice, out_dir: Path) -> Path:
    binary = espeak_binary()
    if not binary:
        raise _ProviderFailed("espeak-ng is not installed")
    out = out_dir / f"tts-espeak-{uuid.uuid4().hex[:12]}.wav"
    # Text goes through stdin, never argv: no option parsing of a leading '-', no length limit.
    args = [binary, "-v", voice.espeak_voice, "-b", "1", "-w", str(out), "--stdin"]
    timeout = 30.0 + len(text) / 50.0
    try:
        proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        out.unlink(missing_ok=True)
        raise _ProviderFailed(f"timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        out.unlink(missing_ok=True)
        stderr = proc.stderr.decode(errors="replace").strip()
        raise _ProviderFailed(f"exit {proc.returncode}: {stderr[-300:] or 'no output'}")
    _check_audio(out)
    return out


def _write_audio(audio: bytes, out_dir: Path, tag: str, ext: str) -> tuple[Path, media.MediaInfo]:
    if not audio:
        raise _ProviderFailed("returned no audio")
    out = out_dir / f"tts-{tag}-{uuid.uuid4().hex[:12]}.{ext}"
    out.write_bytes(audio)
    return out, _check_audio(out)


def _check_audio(path: Path) -> media.MediaInfo:
    """The file must be audio ffprobe can read, with some duration; returns what ffprobe read."""
    try:
        info = media.probe(path)
    except MediaError as exc:
        path.unlink(missing_ok=True)
        raise _ProviderFailed(f"unreadable audio: {exc.detail}") from exc
    if not info.has_audio or info.duration <= 0:
        path.unlink(missing_ok=True)
        raise _ProviderFailed("produced an empty audio file")
    return info


_PROVIDERS: dict[str, Callable[[str, Voice, Path, float], _Spoken]] = {
    "edge": _edge,
    "gtts": _gtts,
    "espeak": _espeak,
}


def synthesize(
    text: str,
    voice_id: str,
    out_dir: Path,
    *,
    providers: tuple[str, ...] = DEFAULT_PROVIDERS,
    online_timeout_s: float = 4.0,
) -> TTSResult:
    """Speak text with the first provider that works; TTSError lists every failure.

    ValidationFailed (422) for empty or over-long text, an unknown voice or an
    unknown provider name.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Text to speak is empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationFailed(f"Text to speak is too long ({len(text)} characters; at most {MAX_TEXT_CHARS}).")
    voice = voice_get(voice_id)
    unknown = [p for p in providers if p not in _PROVIDERS]
    if unknown or not providers:
        raise ValidationFailed(f"Unknown TTS providers {unknown}; choose from {list(_PROVIDERS)}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    attempts: list[tuple[str, str]] = []
    for key in providers:
        label = PROVIDER_LABELS[key]
        started = time.monotonic()
        try:
            spoken = _PROVIDERS[key](text, voice, out_dir, online_timeout_s)
        except _ProviderFailed as exc:
            logger.warning("TTS provider %s failed for %s after %.2f s: %s", label, voice.voice_id, time.monotonic() - started, exc)
            attempts.append((label, str(exc)))
            continue
        logger.info("TTS: %s spoke %d chars as %s in %.2f s (%s)", label, len(text), voice.voice_id,
                    time.monotonic() - started, spoken.timing.source if spoken.timing else "no timing")
        return TTSResult(path=spoken.path, provider=label, attempts=attempts, timing=spoken.timing, language=voice.language_code)
    summary = "; ".join(f"{name}: {why}" for name, why in attempts)
    raise TTSError(f"Speech synthesis failed with every provider ({summary}).", extra={"attempts": attempts})
