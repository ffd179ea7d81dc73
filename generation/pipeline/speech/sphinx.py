"""PocketSphinx (English): forced alignment of known words, the phone loop
(allphone) for audio alone, and word recognition for captions of uploads.

The decoders' C code is not re-entrant: every use holds one lock. Django-free.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from generation.pipeline.speech.phonemes import guess_pronunciation, normalize_phone
from generation.pipeline.types import AudioClip, Word

logger = logging.getLogger(__name__)

FRAME_S = 0.01  # PocketSphinx frame rate is 100/s
ALLPHONE_LW = 2.0
# Narrow beams and one Gaussian per mixture (defaults 1e-48 and 4): 0.44 -> 0.27 s per 10 s of speech,
# with the same closure figures on the training, held-out and benchmark clips (generation/bench/closure_fit.py).
ALLPHONE_BEAM = 1e-10
ALLPHONE_TOPN = 1
_NON_WORDS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+.*\+)$", re.I)
decoder_lock = threading.Lock()


@dataclass
class Transcript:
    """Words recognised in audio with the bundled English LM (no text given)."""

    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0  # mean word posterior 0..1


def pcm_bytes(samples: np.ndarray) -> bytes:
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


def align(pcm: bytes, words: list[str], notes: list[str]):
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


_allphone: dict[str, object] = {}  # the phone-loop decoder, built once (~0.15 s)


def allphone(pcm: bytes) -> list[tuple[str, float, float]]:
    """The English phone loop over ``pcm``; callers hold ``decoder_lock``."""
    from pocketsphinx import Decoder

    if not _allphone:
        decoder = Decoder(allphone=_model_path("en-us-phone.lm.bin"), lw=ALLPHONE_LW, beam=ALLPHONE_BEAM,
                          pbeam=ALLPHONE_BEAM, topn=ALLPHONE_TOPN, loglevel="FATAL")
        _allphone["decoder"] = decoder
    decoder = _allphone["decoder"]
    # Live CMN adapts to each utterance: reset the features so the result does
    # not depend on what was decoded before.
    decoder.reinit_feat()
    _decode(decoder, pcm)
    return [(normalize_phone(s.word), s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S) for s in decoder.seg() or []]


def transcribe(audio: AudioClip) -> Transcript:
    """Recognise words with the bundled English LM (about 0.4x real time; captions of uploads)."""
    from pocketsphinx import Decoder

    with decoder_lock:
        decoder = Decoder(loglevel="FATAL")
        _decode(decoder, pcm_bytes(audio.samples))
        segs = list(decoder.seg() or [])
    words, probs = [], []
    for s in segs:
        name = re.sub(r"\(\d+\)$", "", s.word)
        if _NON_WORDS.match(name):
            continue
        words.append(Word(name, s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S))
        probs.append(float(s.prob))
    return Transcript(" ".join(w.text for w in words), words, float(np.mean(probs)) if probs else 0.0)
