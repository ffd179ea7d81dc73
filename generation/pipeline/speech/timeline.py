"""Speech stage: normalised audio and a phone timeline for the mouth.

Where the phone times come from, best first (``PhoneTimeline.method``):
- ``tts-events``: the TTS said when each phone was spoken (libespeak-ng events);
- ``tts-words``: the TTS said when each word was spoken (edge-tts), and the
  word's phonemes share its span;
- ``align-dtw``: the words are known in any espeak-ng language: an espeak-ng
  synthesis of them is warped onto the audio (align.py);
- ``align``: PocketSphinx forced alignment (English), when it fits the audio better;
- ``allphone``: audio alone: PocketSphinx's English phone loop, with bilabial
  closures found in the signal itself (closures.py) for any language;
- ``energy``: loudness and voicing only, when nothing above makes sense.

Labels are IPA (espeak-ng) or ARPAbet (PocketSphinx); speech/inventory.py
reads both. Pauses are ``SIL``. Django-free.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generation.pipeline import media
from generation.pipeline.errors import EngineUnavailable, InvalidOption, MediaError
from generation.pipeline.speech import sphinx
from generation.pipeline.speech.energy import (
    MIN_SPEECH_LIKENESS,
    FrameFeatures,
    analyse,
    energy_phones,
    speech_likeness,
    voiced_coverage,
)
from generation.pipeline.speech.inventory import phone_info
from generation.pipeline.speech.phonemes import SILENCE, english_words, normalize_text
from generation.pipeline.speech.units import PAUSE, SpeechTiming, TimedUnit
from generation.pipeline.types import AudioClip, Phone, PhoneTimeline, Word

if TYPE_CHECKING:
    from generation.pipeline.speech.align import Alignment

logger = logging.getLogger(__name__)

MIN_ALIGN_COVERAGE = 0.6  # voiced frames the aligned words must cover, else the text does not match
MIN_ALLPHONE_COVERAGE = 0.5
MAX_MEAN_PHONE_S = 0.3  # longer average phones in speech regions: the phone loop found no speech
MIN_DTW_CONFIDENCE = 0.12  # under this the synthesis and the audio share nothing: the text does not match
SPHINX_MARGIN = 0.03  # PocketSphinx must fit the audio this much better than DTW to be chosen


def load_audio(src: Path, work_dir: Path) -> AudioClip:
    """Decode any audio ffmpeg reads, once, to 16 kHz mono WAV in ``work_dir``
    (MediaError "<name> has no audio stream" when it holds none)."""
    src = Path(src)
    work_dir.mkdir(parents=True, exist_ok=True)
    dst = media.normalize_audio(src, work_dir / "speech_16k.wav", sample_rate=media.SPEECH_SAMPLE_RATE_HZ)
    samples, rate = media.read_wav(dst)
    if len(samples) == 0:
        raise MediaError(f"{src.name} contains no audio samples")
    return AudioClip(path=dst, samples=samples, sample_rate=rate)


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


def _raw(units: list[TimedUnit]) -> list[tuple[str, float, float]]:
    return [(SILENCE if u.text == PAUSE else u.text, u.start, u.end) for u in units]


def _words(units: list[TimedUnit]) -> list[tuple[str, float, float]]:
    return [(u.text, u.start, u.end) for u in units]


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


def acoustic_fit(phones: list[tuple[str, float, float]], feats: FrameFeatures) -> float:
    """How well a phone sequence fits the audio, whoever made it (0..1).

    The mean of: voiced frames inside phones, pause frames that are quiet, and
    stops whose start sees the level dip (their closure).
    """
    times, level = feats.times, feats.level_db
    coverage = voiced_coverage(phones, feats)
    pause_frames = np.zeros(len(times), dtype=bool)
    dips, stops = 0, 0
    for label, start, end in phones:
        if label == SILENCE:
            if end - start >= 0.1:
                pause_frames[(times >= start) & (times < end)] = True
            continue
        info = phone_info(label)
        if info.base[:1] in "pbtdkgɡ" and info.kind != "vowel":
            window = (times >= start - 0.03) & (times < start + 0.05)
            around = (times >= start - 0.12) & (times < start + 0.15)
            if window.any() and around.any():
                stops += 1
                dips += level[around].max() - level[window].min() > 12.0
    quiet = 1.0 - float(feats.active[pause_frames].mean()) if pause_frames.any() else 1.0
    closure = dips / stops if stops else 1.0
    return float((coverage + quiet + closure) / 3.0)


def _choose_language(text: str, language: str | None, notes: list[str]) -> tuple[str, str | None]:
    from generation.pipeline.speech.language import detect_language, espeak_voice

    guess = detect_language(text, language)
    if guess.how not in ("given",):
        notes.append(f"language {guess.language} ({guess.how}" + (f", p={guess.probability:.2f})" if guess.probability else ")"))
    voice = espeak_voice(guess.language)
    if voice is None:
        notes.append(f"espeak-ng does not speak {guess.language}: no phoneme-accurate alignment")
    return guess.language, voice


def _dtw_candidate(audio: AudioClip, text: str, voice: str, feats: FrameFeatures, notes: list[str],
                   alignment: Alignment | None = None):
    from generation.pipeline.speech.align import align_transcript

    try:
        result = alignment or align_transcript(audio.samples, audio.sample_rate, text, voice)
    except (EngineUnavailable, InvalidOption) as exc:
        notes.append(f"transcript alignment unavailable: {exc.detail}")
        return None
    phones, words = _raw(result.phones), _words(result.words)
    if result.confidence < MIN_DTW_CONFIDENCE:
        notes.append(f"transcript alignment rejected: confidence {result.confidence:.2f}, the text may not match the audio")
        return None
    if not _phones_plausible(phones, feats, MIN_ALIGN_COVERAGE, notes):
        notes.append("transcript alignment rejected: words do not cover the speech")
        return None
    return phones, words, result.confidence


def _sphinx_candidate(pcm: bytes, text: str, feats: FrameFeatures, notes: list[str]):
    words = english_words(normalize_text(text, "en"))
    if not words:
        return None
    with sphinx.decoder_lock:
        aligned = sphinx.align(pcm, words, notes)
    if aligned is None:
        notes.append("PocketSphinx alignment failed")
        return None
    if not _phones_plausible(aligned[1], feats, MIN_ALIGN_COVERAGE, notes):
        notes.append("PocketSphinx alignment rejected: words do not cover the speech")
        return None
    return aligned


def _align_text(audio: AudioClip, text: str, language: str | None, feats: FrameFeatures, notes: list[str],
                alignment: Alignment | None = None):
    """(phones, words, method) for known text, or None when nothing fits."""
    lang, voice = _choose_language(text, language, notes)
    dtw = _dtw_candidate(audio, text, voice, feats, notes, alignment) if voice else None
    fit_dtw = acoustic_fit(dtw[0], feats) if dtw else 0.0
    # PocketSphinx (English only) can win only by SPHINX_MARGIN: skip it when it cannot.
    english = lang.lower().startswith("en") and fit_dtw + SPHINX_MARGIN < 1.0
    pocket = _sphinx_candidate(sphinx.pcm_bytes(audio.samples), text, feats, notes) if english else None
    if dtw and pocket:
        fit_pocket = acoustic_fit(pocket[0], feats)
        if fit_pocket > fit_dtw + SPHINX_MARGIN:
            notes.append(f"PocketSphinx alignment (fit {fit_pocket:.2f}) chosen over espeak-ng DTW (fit {fit_dtw:.2f})")
            return pocket[0], pocket[1], "align"
        notes.append(f"espeak-ng DTW alignment (fit {fit_dtw:.2f}, confidence {dtw[2]:.2f}) chosen over PocketSphinx (fit {fit_pocket:.2f})")
        return dtw[0], dtw[1], "align-dtw"
    if dtw:
        notes.append(f"espeak-ng DTW alignment in {lang}, confidence {dtw[2]:.2f}")
        return dtw[0], dtw[1], "align-dtw"
    if pocket:
        return pocket[0], pocket[1], "align"
    return None


def phone_timeline(audio: AudioClip, text: str = "", *, language: str | None = None, transcribe_words: bool = False,
                   timing: SpeechTiming | None = None, alignment: Alignment | None = None) -> PhoneTimeline:
    """The phones of ``audio`` covering [0, duration] without gaps or overlaps.

    ``timing`` (from the TTS that made the audio) is used as it is. Otherwise
    ``text`` (what is said) in ``language`` (BCP-47; detected when None) is
    aligned (``alignment``: align.align_transcript's result for that text, when
    the caller already has it); without text the phones are decoded from the
    audio, and ``transcribe_words`` also recognises (English) words for captions.
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
    elif timing is not None and timing.phones:
        phones_raw, words_raw = _raw(timing.phones), _words(timing.words)
        method = "tts-events" if timing.source == "espeak-events" else "tts-words"
        notes.extend(timing.notes)
        notes.append(f"phone times from the speech synthesiser ({timing.source})")
    elif likeness < MIN_SPEECH_LIKENESS:  # nan (too little voicing to judge) passes
        notes.append(f"voice barely changes its spectrum (likeness {likeness:.2f}): tone or music, not speech")
        phones_raw, method = energy_phones(feats, duration), "energy"
    if phones_raw is None and text.strip():
        if normalize_text(text, "xx"):
            aligned = _align_text(audio, text, language, feats, notes, alignment)
            if aligned is not None:
                phones_raw, words_raw, method = aligned
            else:
                notes.append("alignment failed; the text may not match the audio: decoding phones instead")
        else:
            notes.append("text has no speakable words; decoding phones instead")
    if phones_raw is None:
        phones_raw, method = _decode_phones(audio, feats, duration, notes)
    timed_words = [Word(w, max(0.0, s), min(duration, e)) for w, s, e in words_raw]
    confidence = None
    if transcribe_words and not timed_words and feats.voiced.any():
        transcript = sphinx.transcribe(audio)
        timed_words, confidence = transcript.words, transcript.confidence
        notes.append(f"transcript confidence {transcript.confidence:.2f}")
    timeline = PhoneTimeline(
        phones=_contiguous(phones_raw, duration), words=timed_words, duration=duration, method=method,
        envelope_times=feats.times, envelope=feats.envelope, notes=notes, transcript_confidence=confidence,
    )
    logger.info("phone timeline: %s, %d phones over %.2f s%s", method, len(timeline.phones), duration,
                "; " + "; ".join(notes) if notes else "")
    return timeline


def _decode_phones(audio: AudioClip, feats: FrameFeatures, duration: float, notes: list[str]):
    """Audio alone: the English phone loop plus acoustic bilabial closures, else energy."""
    from generation.pipeline.speech.closures import mark_closures

    with sphinx.decoder_lock:
        decoded = sphinx.allphone(sphinx.pcm_bytes(audio.samples))
    if decoded and _phones_plausible(decoded, feats, MIN_ALLPHONE_COVERAGE, notes):
        phones, found = mark_closures(decoded, audio.samples, audio.sample_rate)
        if found:
            notes.append(f"{found} bilabial closures found in the signal")
        return phones, "allphone"
    notes.append("falling back to energy-based mouth movement")
    return energy_phones(feats, duration), "energy"


def timing_from_word_boundaries(words: list[TimedUnit], language: str, duration: float) -> SpeechTiming | None:
    """TTS word boundaries (edge-tts) as phone timing in ``language`` (BCP-47, e.g. the voice's locale).

    None when espeak-ng cannot phonemize the language (the caller aligns instead).
    """
    from generation.pipeline.speech.boundaries import phones_from_word_boundaries
    from generation.pipeline.speech.language import espeak_voice

    voice = espeak_voice(language)
    if voice is None or not words:
        return None
    try:
        phones = phones_from_word_boundaries(words, voice, duration)
    except EngineUnavailable:
        return None
    return SpeechTiming(phones=phones, words=list(words), source="word-boundaries", language=language)
