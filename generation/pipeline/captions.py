"""Captions from the word timings: WebVTT and SRT, in any language and script.

Word times come from the TTS (espeak-ng word events, edge-tts word boundaries)
or the alignment. The aligner may see normalised words (lower case, numbers
spelt out, no punctuation); the viewer should read what was typed. The typed
text is mapped back onto the timed words by sequence alignment, so a cue shows
"It costs $5." timed by the aligned "it costs five dollars". Scripts written
without spaces (Chinese, Japanese, Thai) are joined without them. Burn-in
needs a font that covers the script: ``caption_font`` finds one with
fontconfig (Debian's Noto fonts). Django-free.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from generation.pipeline.speech.phonemes import normalize_text
from generation.pipeline.types import PhoneTimeline, Word

logger = logging.getLogger(__name__)

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 5.0
PAUSE_BREAK_SECONDS = 0.4
# A cue shorter than this is hard to read; it is stretched into the silence after it.
MIN_CUE_SECONDS = 0.8
# Below this share of aligned words found in the typed text, the text is not what
# was said (e.g. captions of an upload were recognised): show the aligned words.
MIN_TEXT_MATCH = 0.5
# Sentence ends of many scripts: Latin, ellipsis, CJK full stop, fullwidth !?, Devanagari danda,
# Arabic question mark, Greek question mark, Armenian full stop, Ethiopic full stop.
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f\u0964\u0965\u061f\u037e\u0589\u1362][\"'\u201d\u2019\u00bb)\]]*$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str  # lines joined by "\n"


@dataclass
class _Unit:
    """One displayed token with the time span of the aligned words it stands for."""

    text: str
    start: float
    end: float


def captions_from_timeline(timeline: PhoneTimeline, text: str = "") -> list[Cue]:
    """Cues (at most 2 lines of ~42 characters, at most ~5 s) from the aligned words."""
    words = [w for w in timeline.words if w.text.strip()]
    if not words:
        return []
    units = _units_from_text(words, text) if text.strip() else None
    if units is None:
        units = _units_from_words(words)
    cues = _group(units)
    return _stretch_short(cues, timeline.duration)


# Estimated timing: the envelope level that counts as speech, and the shortest gap
# between speech spans that is a real pause rather than a stop consonant.
SPEECH_LEVEL = 0.08
MIN_PAUSE_SECONDS = 0.25
MAX_TOKEN_CHARS = 12  # text without spaces (e.g. CJK) is cut into readable pieces


def captions_from_text_estimate(timeline: PhoneTimeline, text: str) -> list[Cue]:
    """Cues of the typed text when alignment found no words (another language, an
    unusual voice): each token gets a share of the speech spans by its length."""
    tokens = [piece for token in text.split() for piece in _pieces(token)]
    spans = _speech_spans(timeline)
    total = sum(end - start for start, end in spans)
    if not tokens or total <= 0:
        return []
    weights = [len(token) + 1 for token in tokens]
    scale = total / sum(weights)
    units, cursor = [], 0.0  # cursor: seconds of speech used so far
    for token, weight in zip(tokens, weights):
        start, end = _speech_time(spans, cursor), _speech_time(spans, cursor + weight * scale)
        units.append(_Unit(token, start, max(end, start + 0.05)))
        cursor += weight * scale
    return _stretch_short(_group(units), timeline.duration)


def _pieces(token: str) -> list[str]:
    return [token[i:i + MAX_TOKEN_CHARS] for i in range(0, len(token), MAX_TOKEN_CHARS)] or [token]


def _speech_spans(timeline: PhoneTimeline) -> list[tuple[float, float]]:
    times, level = timeline.envelope_times, timeline.envelope
    if len(times) == 0:
        return [(0.0, timeline.duration)]
    spans: list[list[float]] = []
    step = float(times[1] - times[0]) if len(times) > 1 else 0.01
    for t, loud in zip(times, level >= SPEECH_LEVEL):
        if not loud:
            continue
        if spans and t - spans[-1][1] <= MIN_PAUSE_SECONDS:
            spans[-1][1] = float(t) + step
        else:
            spans.append([float(t), float(t) + step])
    return [(a, min(b, timeline.duration)) for a, b in spans]


def _speech_time(spans: list[tuple[float, float]], seconds_of_speech: float) -> float:
    """The clip time at which ``seconds_of_speech`` of speech have passed."""
    for start, end in spans:
        if seconds_of_speech <= end - start:
            return start + seconds_of_speech
        seconds_of_speech -= end - start
    return spans[-1][1]


def _units_from_words(words: list[Word]) -> list[_Unit]:
    units = [_Unit("I" if w.text.lower() == "i" else w.text, w.start, w.end) for w in words]
    units[0].text = units[0].text[:1].upper() + units[0].text[1:]
    return units


def _units_from_text(words: list[Word], text: str) -> list[_Unit] | None:
    tokens = text.split()
    normalised: list[tuple[str, int]] = [(n, t) for t, token in enumerate(tokens) for n in normalize_text(token)]
    # Timed words may be typed tokens themselves (TTS word events): normalise them the same way.
    aligned: list[tuple[str, int]] = [(n, i) for i, w in enumerate(words) for n in (normalize_text(w.text) or [w.text.lower()])]
    matcher = difflib.SequenceMatcher(None, [n for n, _ in normalised], [n for n, _ in aligned], autojunk=False)
    token_of: dict[int, int] = {}  # timed word index -> token index
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            token_of.setdefault(aligned[block.b + k][1], normalised[block.a + k][1])
    if len(token_of) < MIN_TEXT_MATCH * len(words):
        logger.info("captions: typed text matches %d of %d aligned words; using aligned words", len(token_of), len(words))
        return None
    units: list[_Unit] = []
    unit_token: list[int | None] = []
    for i, word in enumerate(words):
        token = token_of.get(i)
        if token is not None and unit_token and unit_token[-1] == token:
            units[-1].end = max(units[-1].end, word.end)  # "forty two" -> "42"
            continue
        units.append(_Unit(tokens[token] if token is not None else word.text, word.start, word.end))
        unit_token.append(token)
    _attach_unmatched(tokens, units, unit_token)
    return units


def _attach_unmatched(tokens: list[str], units: list[_Unit], unit_token: list[int | None]) -> None:
    """Typed tokens the aligner did not time (punctuation, dropped words) join a neighbour."""
    placed = {t for t in unit_token if t is not None}
    first_placed = min(placed)
    unit_of_token = {t: u for u, t in enumerate(unit_token) if t is not None}
    leading = [tokens[t] for t in range(first_placed) if t not in placed]
    current = None
    for t in range(first_placed, len(tokens)):
        if t in placed:
            current = unit_of_token[t]
        elif current is not None:
            units[current].text += " " + tokens[t]
    if leading:
        first = unit_of_token[first_placed]
        units[first].text = " ".join(leading) + " " + units[first].text


def _group(units: list[_Unit]) -> list[Cue]:
    cues: list[Cue] = []
    current: list[_Unit] = []
    for unit in units:
        if current and _must_break(current, unit):
            cues.append(_cue(current))
            current = []
        current.append(unit)
    if current:
        cues.append(_cue(current))
    return cues


def _must_break(current: list[_Unit], unit: _Unit) -> bool:
    last = current[-1]
    if _SENTENCE_END.search(last.text):
        return True
    if unit.start - last.end > PAUSE_BREAK_SECONDS:
        return True
    if unit.end - current[0].start > MAX_CUE_SECONDS:
        return True
    return _wrap(_join([u.text for u in [*current, unit]])) is None


def _wrap(text: str) -> list[str] | None:
    """The text in at most MAX_LINES lines of MAX_LINE_CHARS, lines balanced; None if it does not fit."""
    if len(text) <= MAX_LINE_CHARS:
        return [text]
    words = text.split(" ")
    best: tuple[int, list[str]] | None = None
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if len(first) <= MAX_LINE_CHARS and len(second) <= MAX_LINE_CHARS:
            longest = max(len(first), len(second))
            if best is None or longest < best[0]:
                best = (longest, [first, second])
    return best[1] if best else None


_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")


def _unspaced(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(_UNSPACED_SCRIPTS)


def _join(texts: list[str]) -> str:
    """Tokens joined by spaces, except between characters of scripts written without them."""
    out = ""
    for text in texts:
        if out and not (_unspaced(out[-1]) and text and _unspaced(text[0])):
            out += " "
        out += text
    return out


def _cue(units: list[_Unit]) -> Cue:
    text = _join([u.text for u in units])
    lines = _wrap(text)
    if lines is None:  # one token longer than two lines: hard-wrap it
        lines = [text[i:i + MAX_LINE_CHARS] for i in range(0, len(text), MAX_LINE_CHARS)]
    return Cue(start=units[0].start, end=units[-1].end, text="\n".join(lines))


def _stretch_short(cues: list[Cue], duration: float) -> list[Cue]:
    stretched = []
    for i, cue in enumerate(cues):
        end = cue.end
        if end - cue.start < MIN_CUE_SECONDS:
            limit = cues[i + 1].start if i + 1 < len(cues) else max(duration, cue.end)
            end = max(end, min(cue.start + MIN_CUE_SECONDS, limit))
        stretched.append(Cue(cue.start, end, cue.text))
    return stretched


def _timestamp(seconds: float, separator: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{_vtt_escape(cue.text)}\n")
    return "\n".join(blocks)


def srt_text(cues: list[Cue]) -> str:
    blocks = []
    for number, cue in enumerate(cues, start=1):
        # A blank line ends an SRT cue, so a cue's text must not contain one.
        body = "\n".join(line for line in cue.text.split("\n") if line.strip())
        blocks.append(f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{body}\n")
    return "\n".join(blocks)


def write_vtt(cues: list[Cue], path: Path) -> Path:
    path = Path(path)
    path.write_text(vtt_text(cues), encoding="utf-8")
    return path


def write_srt(cues: list[Cue], path: Path) -> Path:
    path = Path(path)
    path.write_text(srt_text(cues), encoding="utf-8")
    return path


# --- fonts for burn-in ---------------------------------------------------------


@dataclass(frozen=True)
class CaptionFont:
    family: str  # for the subtitles filter's FontName
    directory: Path  # for its fontsdir


def _preference(family: str) -> tuple[int, str]:
    if family == "Noto Sans":
        return 0, family
    if family.startswith("Noto Sans ") and not family.endswith(("Mono", "Display")):
        return 1, family
    return (2 if family.startswith("Noto") else 3), family


@functools.lru_cache(maxsize=256)
def _font_for(charset: str) -> CaptionFont | None:
    binary = shutil.which("fc-list")
    if not binary:
        return None
    try:
        proc = subprocess.run([binary, "--format", "%{file}|%{family[0]}|%{style[0]}\n", f":charset={charset}"],
                              capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    fonts = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2] in ("Regular", "Book") and parts[0].endswith((".ttf", ".otf", ".ttc")):
            fonts.append((_preference(parts[1]), parts[1], Path(parts[0]).parent))
    if not fonts:
        return None
    _, family, directory = min(fonts)
    return CaptionFont(family, directory)


def caption_font(text: str) -> CaptionFont | None:
    """An installed font with a glyph for every letter of ``text`` (None if there is none).

    Found with fontconfig (``fc-list :charset=...``), Noto Sans families first.
    """
    points = sorted({ord(ch) for ch in text if ch.isalpha() or unicodedata.category(ch).startswith("M")})
    if not points:
        return None
    return _font_for(" ".join(format(p, "x") for p in points))
