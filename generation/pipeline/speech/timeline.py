"""Speech stage: normalised audio and a phone timeline for the mouth.

With the words known, PocketSphinx forced alignment; without, its phone
loop (allphone); when the recogniser cannot make sense of the audio, an
energy/voicing analysis that still makes the mouth follow the voice.
Django-free.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generation.pipeline import media
from generation.pipeline.errors import MediaError
from generation.pipeline.speech.energy import (
    MIN_SPEECH_LIKENESS,
    FrameFeatures,
    analyse,
    energy_phones,
    speech_likeness,
    voiced_coverage,
)
from generation.pipeline.speech.phonemes import SILENCE, guess_pronunciation, normalize_phone, normalize_text
from generation.pipeline.types import AudioClip, Phone, PhoneTimeline, Word

logger = logging.getLogger(__name__)

FRAME_S = 0.01  # PocketSphinx frame rate is 100/s
MIN_ALIGN_COVERAGE = 0.6  # voiced frames the aligned words must cover, else the text does not match
MIN_ALLPHONE_COVERAGE = 0.5
MAX_MEAN_PHONE_S = 0.3  # longer average phones in speech regions: the phone loop found no speech
ALLPHONE_LW = 2.0
ALLPHONE_BEAM = 1e-20
_NON_WORDS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+.*\+)$", re.I)
# The decoders' C code is not re-entrant; serialise use within a process.
_decoder_lock = threading.Lock()


@dataclass
class Transcript:
    """Words recognised in audio with the bundled English LM (no text given)."""

    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0  # mean word posterior 0..1


def load_audio(src: Path, work_dir: Path) -> AudioClip:
    """Decode any audio ffmpeg reads, once, to 16 kHz mono WAV in ``work_dir``."""
    src = Path(src)
    info = media.probe(src)
    if not info.has_audio:
        raise MediaError(f"{src.name} has no audio stream")
    work_dir.mkdir(parents=True, exist_ok=True)
    dst = media.normalize_audio(src, work_dir / "speech_16k.wav", sample_rate=media.SPEECH_SAMPLE_RATE_HZ)
    samples, rate = media.read_wav(dst)
    if len(samples) == 0:
        raise MediaError(f"{src.name} contains no audio samples")
    return AudioClip(path=dst, samples=samples, sample_rate=rate)


def compute_envelope(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(hop centre times, RMS 0..1 normalised by its 95th percentile) over 10 ms hops."""
    feats = analyse(samples, sample_rate)
    return feats.times, feats.envelope


def _pcm_bytes(samples: np.ndarray) -> bytes:
    # Exact digital silence (TTS output) breaks PocketSphinx's log-energy features
    # and alignment fails; a fixed-seed 1-LSB dither keeps results deterministic.
    noise = np.random.default_rng(0).normal(0.0, 1.0, len(samples))
    pcm = np.clip(samples.astype(np.float64) * 32767.0 + noise, -32768, 32767)
    return pcm.astype("<i2").tobytes()


def _model_path(name: str) -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us", name)


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _contiguous(raw: list[tuple[str, float, float]], duration: float) -> list[Phone]:
    """Sorted phones covering [0, duration] exactly: gaps become SIL, overlaps are clipped."""
    out: list[Phone] = []
    cursor = 0.0

    def push(label: str, start: float, end: float) -> None:
        if end - start <= 1e-6:
            return
        if out and out[-1].label == label == SILENCE:
            out[-1] = Phone(SILENCE, out[-1].start, end)
        else:
            out.append(Phone(label, start, end))

    for label, start, end in sorted(raw, key=lambda p: p[1]):
        start, end = max(start, cursor), min(end, duration)
        if start >= end:
            continue
        if start > cursor:
            push(SILENCE, cursor, start)
        push(label, start, end)
        cursor = end
    if cursor < duration:
        if out and duration - cursor < 0.05:  # the decoder's last partial frame
            last = out.pop()
            push(last.label, last.start, duration)
        else:
            push(SILENCE, cursor, duration)
    if not out:
        out.append(Phone(SILENCE, 0.0, duration))
    return out


def _align(pcm: bytes, words: list[str], notes: list[str]):
    """Forced alignment; (phones, words) as (label, start, end) lists, or None on failure."""
    from pocketsphinx import Decoder

    decoder = Decoder(lm=None, loglevel="FATAL")
    guessed: list[str] = []
    for word in sorted(set(words)):
        if decoder.lookup_word(word) is None:
            pron = guess_pronunciation(word)
            if pron:
                decoder.add_word(word, pron, update=True)
                guessed.append(word)
    words = [w for w in words if decoder.lookup_word(w) is not None]
    if guessed:
        notes.append("spelling-based pronunciation for: " + ", ".join(sorted(guessed)))
    if not words:
        return None
    try:
        decoder.set_align_text(" ".join(words))
        _decode(decoder, pcm)
        if decoder.seg() is None:  # the audio could not reach the end of the text
            return None
        decoder.set_alignment()
        _decode(decoder, pcm)
        alignment = decoder.get_alignment()
    except RuntimeError as exc:
        logger.info("alignment failed: %s", exc)
        return None
    if alignment is None:
        return None
    phones, timed_words = [], []
    for entry in alignment:
        name = re.sub(r"\(\d+\)$", "", entry.name)
        if not _NON_WORDS.match(name):
            timed_words.append((name, entry.start * FRAME_S, (entry.start + entry.duration) * FRAME_S))
        for ph in entry:
            phones.append((normalize_phone(ph.name), ph.start * FRAME_S, (ph.start + ph.duration) * FRAME_S))
    return phones, timed_words


def _allphone(pcm: bytes) -> list[tuple[str, float, float]]:
    from pocketsphinx import Decoder

    decoder = Decoder(allphone=_model_path("en-us-phone.lm.bin"), lw=ALLPHONE_LW, beam=ALLPHONE_BEAM,
                      pbeam=ALLPHONE_BEAM, loglevel="FATAL")
    _decode(decoder, pcm)
    return [(normalize_phone(s.word), s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S) for s in decoder.seg() or []]


def _phones_plausible(phones: list[tuple[str, float, float]], feats: FrameFeatures, min_coverage: float, notes: list[str]) -> bool:
    coverage = voiced_coverage(phones, feats)
    spoken = [end - start for label, start, end in phones if label != SILENCE]
    mean_len = float(np.mean(spoken)) if spoken else 0.0
    if coverage < min_coverage:
        notes.append(f"decoded phones cover only {coverage:.0%} of voiced audio")
        return False
    if feats.voiced.any() and mean_len > MAX_MEAN_PHONE_S:
        notes.append(f"decoded phones average {mean_len * 1000:.0f} ms, not speech-like")
        return False
    return True


def transcribe(audio: AudioClip) -> Transcript:
    """Recognise words with the bundled English LM (about 0.4x real time; captions of uploads)."""
    from pocketsphinx import Decoder

    with _decoder_lock:
        decoder = Decoder(loglevel="FATAL")
        _decode(decoder, _pcm_bytes(audio.samples))
        segs = list(decoder.seg() or [])
    words, probs = [], []
    for s in segs:
        name = re.sub(r"\(\d+\)$", "", s.word)
        if _NON_WORDS.match(name):
            continue
        words.append(Word(name, s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S))
        probs.append(float(s.prob))
    return Transcript(" ".join(w.text for w in words), words, float(np.mean(probs)) if probs else 0.0)


def phone_timeline(audio: AudioClip, text: str = "", *, transcribe_words: bool = False) -> PhoneTimeline:
    """The phones of ``audio`` covering [0, duration] without gaps or overlaps.

    ``text`` (what is said) enables forced alignment; without it the phone
    loop is used, and ``transcribe_words`` also recognises words for captions.
    """
    if audio.sample_rate != media.SPEECH_SAMPLE_RATE_HZ:
        raise MediaError(f"speech must be {media.SPEECH_SAMPLE_RATE_HZ} Hz (use load_audio), got {audio.sample_rate}")
    duration = audio.duration
    feats = analyse(audio.samples, audio.sample_rate)
    notes: list[str] = []
    words_raw: list[tuple[str, float, float]] = []
    phones_raw: list[tuple[str, float, float]] | None = None
    method = ""
    likeness = speech_likeness(feats)
    if not feats.active.any():
        notes.append("no speech found: the audio is silent")
        phones_raw, method = [(SILENCE, 0.0, duration)], "energy"
    elif likeness < MIN_SPEECH_LIKENESS:  # nan (too little voicing to judge) passes
        notes.append(f"voice barely changes its spectrum (likeness {likeness:.2f}): tone or music, not speech")
        phones_raw, method = energy_phones(feats, duration), "energy"
    pcm = _pcm_bytes(audio.samples) if phones_raw is None else b""
    words = normalize_text(text) if text else []
    if phones_raw is None and words:
        with _decoder_lock:
            aligned = _align(pcm, words, notes)
        if aligned is None:
            notes.append("forced alignment failed; the text may not match the audio")
        elif _phones_plausible(aligned[1], feats, MIN_ALIGN_COVERAGE, notes):
            phones_raw, words_raw = aligned
            method = "align"
        else:
            notes.append("alignment rejected: words do not cover the speech")
    elif phones_raw is None and text:
        notes.append("text has no speakable words; decoding phones instead")
    if phones_raw is None:
        with _decoder_lock:
            decoded = _allphone(pcm)
        if decoded and _phones_plausible(decoded, feats, MIN_ALLPHONE_COVERAGE, notes):
            phones_raw, method = decoded, "allphone"
        else:
            notes.append("falling back to energy-based mouth movement")
            phones_raw, method = energy_phones(feats, duration), "energy"
    timed_words = [Word(w, max(0.0, s), min(duration, e)) for w, s, e in words_raw]
    confidence = None
    if transcribe_words and not timed_words and feats.voiced.any():
        transcript = transcribe(audio)
        timed_words, confidence = transcript.words, transcript.confidence
        notes.append(f"transcript confidence {transcript.confidence:.2f}")
    timeline = PhoneTimeline(
        phones=_contiguous(phones_raw, duration), words=timed_words, duration=duration, method=method,
        envelope_times=feats.times, envelope=feats.envelope, notes=notes, transcript_confidence=confidence,
    )
    logger.info("phone timeline: %s, %d phones over %.2f s%s", method, len(timeline.phones), duration,
                "; " + "; ".join(notes) if notes else "")
    return timeline
