"""Which language is spoken, and which espeak-ng voice speaks it.

A transcript without a ``language`` is read by its script (Unicode ranges);
scripts many languages share (Latin, Cyrillic, Arabic, Devanagari) are then
told apart by py3langid (a small naive-Bayes model it ships), restricted to
the languages espeak-ng speaks. Anything unsure falls back to English.
Django-free.
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

logger = logging.getLogger(__name__)

FALLBACK = "en"
MIN_LETTERS = 3
MIN_PROBABILITY = 0.8  # py3langid's normalised probability under which we keep the script's default

# Scripts used by one language (or whose default is clear), by the first word of
# the Unicode character name.
_SCRIPT_LANGUAGE = {
    "GREEK": "el", "HEBREW": "he", "HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "cmn",
    "THAI": "th", "GEORGIAN": "ka", "ARMENIAN": "hy", "BENGALI": "bn", "GURMUKHI": "pa", "GUJARATI": "gu",
    "ORIYA": "or", "TAMIL": "ta", "TELUGU": "te", "KANNADA": "kn", "MALAYALAM": "ml", "SINHALA": "si",
    "ETHIOPIC": "am", "MYANMAR": "my", "LAO": "lo", "KHMER": "km",
    # Shared scripts: the default when the classifier is unsure.
    "LATIN": "en", "CYRILLIC": "ru", "ARABIC": "ar", "DEVANAGARI": "hi",
}
_SHARED = {"LATIN", "CYRILLIC", "ARABIC", "DEVANAGARI"}
# BCP-47 primary tags (and a few regional tags) whose espeak-ng name differs.
_ALIASES = {"zh": "cmn", "zh-cn": "cmn", "zh-tw": "cmn", "zh-hk": "yue", "en": "en-us", "no": "nb", "iw": "he",
            "fil": "tl", "in": "id", "jw": "jv", "pt-pt": "pt", "en-au": "en-gb", "en-ie": "en-gb", "en-nz": "en-gb", "en-za": "en-gb", "en-ca": "en-us",
            "en-in": "en-gb-x-rp", "es-mx": "es-419", "es-us": "es-419"}


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # BCP-47-ish code, e.g. "es", "pt-br", "ru"
    how: str  # "given" | "script" | "classifier" | "fallback"
    script: str = ""
    probability: float | None = None


def script_of(text: str) -> str:
    """The dominant script of the letters in ``text`` (e.g. "LATIN", "CYRILLIC"), or "" without letters."""
    counts: Counter[str] = Counter()
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name:
            counts[name.split(" ")[0]] += 1
    if not counts:
        return ""
    if counts.get("HIRAGANA") or counts.get("KATAKANA"):
        return "HIRAGANA"  # Japanese mixes kana with CJK ideographs
    return counts.most_common(1)[0][0]


@functools.lru_cache(maxsize=1)
def _espeak_languages() -> dict[str, str]:
    """{lower-case language code: espeak voice name}, or {} without libespeak-ng."""
    from generation.pipeline.errors import EngineUnavailable
    from generation.pipeline.speech import espeak

    try:
        return {code.lower(): code for code, _ in espeak.voices()}
    except EngineUnavailable:
        return {}


def espeak_voice(language: str) -> str | None:
    """The espeak-ng voice for a BCP-47 tag (``es``, ``pt-BR``, ``zh-HK``), or None if espeak lacks it."""
    known = _espeak_languages()
    tag = language.strip().replace("_", "-").lower()
    if not tag:
        return None
    primary = tag.split("-")[0]
    for candidate in (_ALIASES.get(tag, tag), tag, _ALIASES.get(primary, primary), f"{primary}-{primary}"):
        if candidate in known:
            return known[candidate]
    # A language espeak only has regional voices for (fr -> fr-fr, fr-be...): the first of them.
    regional = sorted(code for code in known if code.startswith(primary + "-"))
    return known[regional[0]] if regional else None


def phoneme_languages() -> list[dict]:
    """Languages with phoneme-accurate lip sync (every espeak-ng language), for /languages."""
    return [{"code": code, "espeak_voice": voice, "lip_sync": "phoneme"} for code, voice in sorted(_espeak_languages().items())]


_identifier_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


@functools.lru_cache(maxsize=8)
def _script_candidates(script: str) -> tuple[str, ...]:
    """py3langid languages written in ``script`` that espeak-ng also speaks."""
    by_script = {
        "LATIN": "af an az bs ca cs cy da de en eo es et eu fi fr ga gl hr ht hu id is it jv ku la lb lt lv ms mt nb "
                 "nl nn oc pl pt qu ro sk sl sq sv sw tl tr vi",
        "CYRILLIC": "be bg kk ky mk mn ru sr tt uk",
        "ARABIC": "ar fa ps ug ur",
        "DEVANAGARI": "hi mr ne",
    }
    known = _espeak_languages()
    identifier = _identifier()
    model = set(identifier.nb_classes)
    return tuple(code for code in by_script.get(script, "").split() if code in model and (espeak_voice(code) or not known))


def detect_language(text: str, language: str | None = None) -> LanguageGuess:
    """The language of ``text``: the given one if any, else from its script and words."""
    if language and language.strip():
        return LanguageGuess(language.strip(), "given")
    script = script_of(text)
    letters = sum(ch.isalpha() for ch in text)
    if not script or letters < MIN_LETTERS:
        return LanguageGuess(FALLBACK, "fallback", script)
    default = _SCRIPT_LANGUAGE.get(script, FALLBACK)
    if script not in _SHARED:
        return LanguageGuess(default, "script", script)
    try:
        candidates = _script_candidates(script)
        with _identifier_lock:
            identifier = _identifier()
            identifier.set_languages(list(candidates) or None)
            code, probability = identifier.classify(text)
    except ImportError:
        logger.info("py3langid is not installed; %s script defaults to %s", script, default)
        return LanguageGuess(default, "script", script)
    probability = float(probability)
    if probability < MIN_PROBABILITY:
        return LanguageGuess(default, "script", script, probability)
    return LanguageGuess(str(code), "classifier", script, probability)
