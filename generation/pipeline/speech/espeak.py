"""espeak-ng through libespeak-ng (ctypes): speech with exact phone and word times.

The library reports a phoneme event at every phone (``espeakINITIALIZE_PHONEME_EVENTS``,
IPA names) and a word event at every word, each with its sample position, so
the mouth can follow every language espeak speaks without any recogniser.

libespeak-ng keeps global state and is not re-entrant: every call holds one
process-wide lock. Django-free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generation.pipeline.errors import EngineUnavailable, InvalidOption
from generation.pipeline.speech.units import PAUSE, SpeechTiming, TimedUnit

logger = logging.getLogger(__name__)

LIBRARY_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")
AUDIO_OUTPUT_SYNCHRONOUS = 2
PHONEME_EVENTS, PHONEME_IPA = 0x0001, 0x0002
CHARS_UTF8, ENDPAUSE = 1, 0x1000
EVENT_WORD, EVENT_END, EVENT_PHONEME = 1, 5, 7
PARAM_RATE = 1
DEFAULT_RATE_WPM = 175  # espeak-ng's own default, as the espeak-ng command speaks
# A phone whose audio stays this far (dB) under the clip's loud level is a pause.
PAUSE_BELOW_PEAK_DB = 40.0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class EspeakSpeech:
    """One synthesis: mono int16 samples and what was said when."""

    samples: np.ndarray  # int16
    sample_rate: int
    phones: list[TimedUnit]  # contiguous over [0, duration]; pauses are PAUSE
    words: list[TimedUnit]  # the words of the input text as typed, with their spoken span
    voice: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    def timing(self, language: str = "") -> SpeechTiming:
        return SpeechTiming(phones=list(self.phones), words=list(self.words), source="espeak-events",
                            language=language or self.voice)

    def write_wav(self, path: Path) -> Path:
        import wave

        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.samples.astype("<i2").tobytes())
        return Path(path)


class _Library:
    """The loaded library, initialised once per process (re-initialised after a fork)."""

    def __init__(self) -> None:
        self.lib = None
        self.pid = -1
        self.sample_rate = 0
        self.error = ""
        self._callback = _CALLBACK(self._on_audio)  # kept alive as long as the library uses it
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []

    def _on_audio(self, wav, count, events) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != 0:
            ev = events[i]
            name = bytes(ev.id.string).split(b"\0")[0].decode("utf-8", "replace") if ev.type == EVENT_PHONEME else ""
            self._events.append((ev.type, ev.sample, ev.text_position, ev.length, name))
            i += 1
        return 0

    def load(self):
        if self.lib is not None and self.pid == os.getpid():
            return self.lib
        lib = None
        for name in (*LIBRARY_NAMES, ctypes.util.find_library("espeak-ng")):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as exc:
                self.error = str(exc)
        if lib is None:
            raise EngineUnavailable("libespeak-ng is not installed (Debian: apt-get install espeak-ng); "
                                    "exact phone timings need it")
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, PHONEME_EVENTS | PHONEME_IPA | 0x8000)
        if rate <= 0:
            raise EngineUnavailable("libespeak-ng could not find its data (espeak-ng-data)")
        lib.espeak_SetSynthCallback(self._callback)
        self.lib, self.pid, self.sample_rate = lib, os.getpid(), rate
        return lib

    def set_voice(self, voice: str) -> None:
        """A voice by name ("en", "en-US+f3") or, as the espeak-ng command does, by language ("en-gb")."""
        if self.lib.espeak_SetVoiceByName(voice.encode("utf-8")) == 0:
            return
        language, _, variant = voice.partition("+")
        spec = _Voice(languages=language.encode("utf-8"))
        if self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) != 0:
            raise InvalidOption(f"espeak-ng has no voice {voice!r}")
        if variant:
            current = self.lib.espeak_GetCurrentVoice().contents
            name = (current.identifier or b"").decode("utf-8", "replace").rsplit("/", 1)[-1]
            if self.lib.espeak_SetVoiceByName(f"{name}+{variant}".encode()) != 0:
                raise InvalidOption(f"espeak-ng has no voice {voice!r}")

    def synth(self, text: str, voice: str, rate_wpm: int) -> tuple[np.ndarray, list]:
        self.set_voice(voice)
        self.lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        if self.lib.espeak_Synth(data, len(data), 0, 1, 0, CHARS_UTF8 | ENDPAUSE, None, None) != 0:
            raise EngineUnavailable("libespeak-ng refused the text")
        self.lib.espeak_Synchronize()
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return samples.astype(np.int16), list(self._events)


_library = _Library()
_lock = threading.Lock()


def available() -> tuple[bool, str]:
    """(True, "") when libespeak-ng loads, else (False, why not)."""
    try:
        with _lock:
            _library.load()
        return True, ""
    except EngineUnavailable as exc:
        return False, exc.detail


def synthesize(text: str, voice: str = "en", *, rate_wpm: int = DEFAULT_RATE_WPM) -> EspeakSpeech:
    """Speak ``text`` with an espeak-ng voice; samples plus the exact phone and word times."""
    if not text.strip():
        raise InvalidOption("espeak-ng was given no text to speak")
    with _lock:
        _library.load()
        samples, events = _library.synth(text, voice, rate_wpm)
        rate = _library.sample_rate
    timed = _phones(events, samples, rate)
    phones = [TimedUnit(label, start, end) for label, start, end, _ in timed]
    return EspeakSpeech(samples=samples, sample_rate=rate, phones=phones, words=_words(events, timed, text), voice=voice)


def _phones(events: list, samples: np.ndarray, rate: int) -> list[tuple[str, float, float, int]]:
    """Contiguous (label, start, end, text position) from the phoneme events.

    Each phone starts where the library says; its text position names the word it belongs to.
    """
    duration = len(samples) / float(rate)
    marks = [(min(s, len(samples)) / float(rate), name, pos) for kind, s, pos, _, name in events if kind == EVENT_PHONEME]
    level = _loud_level(samples)
    out: list[list] = []
    for k, (start, name, pos) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else duration
        if name.startswith("("):  # a language switch, e.g. "(en)": not a sound
            continue
        if name in ("ʲ", "ʷ", "ʰ") and out and out[-1][0] != PAUSE:
            out[-1][0] += name  # palatalised consonants come as two events: rʲ
            out[-1][2] = max(out[-1][2], end)
            continue
        if end - start <= 1e-6:
            continue
        label = name
        if not name:
            # IPA has no name for pauses, nor for a few reduced vowels: the audio tells which.
            label = PAUSE if _is_quiet(samples, rate, start, end, level) else "ə"
        if out and out[-1][0] == label == PAUSE:
            out[-1][2] = end
        else:
            out.append([label, start, end, pos if label != PAUSE else -1])
    if not out or out[0][1] > 1e-6:
        out.insert(0, [PAUSE, 0.0, out[0][1] if out else duration, -1])
    if out[-1][2] < duration - 1e-6:
        out.append([PAUSE, out[-1][2], duration, -1])
    # Closed stops: espeak marks a stop where it releases; its silent closure is
    # at the end of the phone before. Move the boundary to where the silence starts.
    _closures_to_stops(out, samples, rate, level)
    return [(lab, a, b, pos) for lab, a, b, pos in out]


def _loud_level(samples: np.ndarray) -> float:
    x = samples.astype(np.float64)
    return float(np.percentile(np.abs(x), 99)) if len(x) else 0.0


def _level_db(samples: np.ndarray, rate: int, start: float, end: float, level: float) -> float:
    chunk = samples[int(start * rate): int(end * rate)].astype(np.float64)
    if len(chunk) == 0 or level <= 0:
        return -120.0
    return float(20.0 * np.log10(np.sqrt(np.mean(chunk**2)) / level + 1e-12))


def _is_quiet(samples: np.ndarray, rate: int, start: float, end: float, level: float) -> bool:
    return _level_db(samples, rate, start, end, level) < -PAUSE_BELOW_PEAK_DB


STOPS = frozenset("pbtdkgɡcɟqɢʈɖʔ")
MAX_CLOSURE_S = 0.12
CLOSURE_BELOW_PEAK_DB = 30.0
_HOP_S = 0.005


def _closures_to_stops(phones: list[list], samples: np.ndarray, rate: int, level: float) -> None:
    for k in range(1, len(phones)):
        label, start = phones[k][0], phones[k][1]
        prev = phones[k - 1]
        if not label or label[0] not in STOPS or prev[0] == PAUSE:
            continue
        t, limit = start, max(prev[1] + 0.3 * (prev[2] - prev[1]), start - MAX_CLOSURE_S)
        while t - _HOP_S >= limit and _level_db(samples, rate, t - _HOP_S, t, level) < -CLOSURE_BELOW_PEAK_DB:
            t -= _HOP_S
        if t < start - 1e-6:
            prev[2] = t
            phones[k][1] = t


def _words(events: list, phones: list[tuple[str, float, float, int]], text: str) -> list[TimedUnit]:
    """Each word event's text as typed, spanning the phones spoken for it."""
    out: list[TimedUnit] = []
    for kind, _, pos, length, _ in events:
        if kind != EVENT_WORD:
            continue
        own = [(a, b) for lab, a, b, p in phones if p == pos]
        word = text[max(0, pos - 1): max(0, pos - 1) + max(length, 0)].strip()
        if own and word:
            out.append(TimedUnit(word, own[0][0], own[-1][1]))
    return out


def text_to_phonemes(text: str, voice: str = "en") -> list[list[str]]:
    """IPA phones of each word of ``text`` as espeak-ng would say them (no audio)."""
    with _lock:
        lib = _library.load()
        _library.set_voice(voice)
        words: list[list[str]] = []
        buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        pointer = ctypes.c_char_p(ctypes.addressof(buffer))
        # phonememode: IPA (bit 1), phones separated by "_" (bits 8-23).
        mode = PHONEME_IPA | (ord("_") << 8)
        while pointer.value:
            result = lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, mode)
            if result is None:
                break
            for word in result.decode("utf-8", "replace").split():
                phones = [p.replace("ˈ", "").replace("ˌ", "") for p in word.split("_")]
                phones = [p for p in phones if p and not p.startswith("(")]
                if phones:
                    words.append(phones)
    return words


def voices() -> list[tuple[str, str]]:
    """(language code, voice identifier) of every espeak-ng voice, e.g. ("pt-br", "roa/pt-BR")."""
    out: list[tuple[str, str]] = []
    with _lock:
        lib = _library.load()
        listing = lib.espeak_ListVoices(None)
        i = 0
        while listing[i]:
            voice = listing[i].contents
            # languages: a priority byte, then the language; ctypes reads up to the first NUL.
            primary = (voice.languages or b"")[1:].decode("utf-8", "replace")
            if primary:
                out.append((primary, (voice.identifier or b"").decode("utf-8", "replace")))
            i += 1
    return out
