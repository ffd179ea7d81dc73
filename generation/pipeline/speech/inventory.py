"""One phone inventory for every language: what the lips do for a phone.

Labels come from three places and all land here: espeak-ng's IPA names
(``p``, ``ɔ̃``, ``tʃ``, ``aɪ``, ``rʲ``), PocketSphinx's ARPAbet (``P``, ``AO``)
and Festival's lower-case phone sets (``pau``, ``ax``). A label is reduced to
IPA base symbols (diacritics, length and stress stripped); its first symbol
decides the mouth class and, for vowels, height/backness/rounding give the
target shape. Django-free and dependency-free.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from generation.pipeline.speech.phonemes import SILENCE
from generation.pipeline.types import MouthParams

# Mouth classes.
PAUSE = "pause"
BILABIAL = "bilabial"  # lips close: p b m ɓ ɸ β
LABIODENTAL = "labiodental"  # lower lip to the upper teeth: f v ɱ
LABIAL_GLIDE = "labial_glide"  # w ɥ: narrowed, protruded
DENTAL = "dental"  # θ ð: tongue tip between the teeth
ALVEOLAR = "alveolar"  # t d n l r s z ts
POSTALVEOLAR = "postalveolar"  # ʃ ʒ tʃ dʒ: a little rounding
PALATAL = "palatal"  # j ç ɲ ɕ
BACK = "back"  # velar, uvular, pharyngeal: lips free
GLOTTAL = "glottal"  # h ʔ: borrow the neighbours' shape
VOWEL = "vowel"

# Classes where the tongue, not the lips, makes the sound: the lips stay apart.
TONGUE_CLASSES = frozenset({DENTAL, ALVEOLAR, POSTALVEOLAR, PALATAL, BACK})

# IPA consonants by class; affricates and clusters are classed by their first symbol.
_CONSONANTS: dict[str, str] = {}
for _cls, _symbols in (
    (BILABIAL, "pbmɓɸβʙ"),
    (LABIODENTAL, "fvɱʋ"),
    (LABIAL_GLIDE, "wʍɥ"),
    (DENTAL, "θð"),
    (ALVEOLAR, "tdnszlrɾɹɬɮɫɺʈɖɳʂʐɭɻɽ"),
    (POSTALVEOLAR, "ʃʒ"),
    (PALATAL, "cɟɲçʝjʎɕʑ"),
    (BACK, "kgɡŋxɣɰʟqɢɴχʁʀħʕʜʢ"),
    (GLOTTAL, "hɦʔ"),
):
    for _s in _symbols:
        _CONSONANTS[_s] = _cls

# IPA vowels: (height 0 close .. 1 open, backness 0 front .. 1 back, rounded).
_VOWELS: dict[str, tuple[float, float, bool]] = {
    "i": (0.0, 0.0, False), "y": (0.0, 0.0, True), "ɨ": (0.0, 0.5, False), "ʉ": (0.0, 0.5, True),
    "ɯ": (0.0, 1.0, False), "u": (0.0, 1.0, True), "ɪ": (0.15, 0.1, False), "ʏ": (0.15, 0.1, True),
    "ʊ": (0.15, 0.9, True), "ᵻ": (0.15, 0.5, False), "e": (0.35, 0.0, False), "ø": (0.35, 0.0, True),
    "ɘ": (0.35, 0.5, False), "ɵ": (0.35, 0.5, True), "ɤ": (0.35, 1.0, False), "o": (0.35, 1.0, True),
    "ə": (0.5, 0.5, False), "ɚ": (0.45, 0.5, False), "ɛ": (0.65, 0.0, False), "œ": (0.65, 0.0, True),
    "ɜ": (0.6, 0.5, False), "ɝ": (0.45, 0.5, False), "ɞ": (0.65, 0.5, True), "ʌ": (0.65, 1.0, False),
    "ɔ": (0.7, 1.0, True), "æ": (0.85, 0.0, False), "ɐ": (0.8, 0.5, False), "a": (1.0, 0.0, False),
    "ä": (1.0, 0.5, False), "ɶ": (1.0, 0.0, True), "ɑ": (1.0, 1.0, False), "ɒ": (1.0, 1.0, True),
}

# ARPAbet (PocketSphinx, CMUdict) into IPA.
ARPABET_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ",
}
# Festival phone names that are neither IPA nor ARPAbet (radio phone set and friends).
_FESTIVAL = {"pau": "", "h#": "", "#": "", "sil": "", "ax": "ə", "axr": "ɚ", "dx": "ɾ", "el": "l", "em": "m",
             "en": "n", "nx": "n", "hh": "h", "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ",
             "ay": "aɪ", "ch": "tʃ", "dh": "ð", "eh": "ɛ", "er": "ɝ", "ey": "eɪ", "ih": "ɪ", "iy": "i",
             "jh": "dʒ", "ng": "ŋ", "ow": "oʊ", "oy": "ɔɪ", "sh": "ʃ", "th": "θ", "uh": "ʊ", "uw": "u",
             "zh": "ʒ", "E": "ɛ", "O": "ɔ"}
_PAUSE_LABELS = frozenset({SILENCE, "", "_", "_:", "_!", "_|", "pau", "sil", "#", "h#", "SP", "sp"})
# Symbols that only modify the one before (or are marks): dropped from the base.
_MODIFIERS = set("ːˑʰʷʲˠˤ̃ ̥̬̩̯̪̺̻̹̜̟̠̈̽̆̚ˈˌ.-‿͜͡ʼ`'~!|0123456789") | {"\u0303", "\u0325", "\u032c", "\u0329"}


@dataclass(frozen=True)
class PhoneInfo:
    """What the mouth does for one phone label."""

    label: str
    base: str  # IPA base symbols, e.g. "tʃ", "aɪ", "" for a pause
    kind: str  # one of the classes above
    height: float = 0.0  # vowels: 0 close .. 1 open
    backness: float = 0.0
    rounded: bool = False
    offglide: str = ""  # diphthongs: the vowel they glide to

    @property
    def is_pause(self) -> bool:
        return self.kind == PAUSE

    @property
    def is_bilabial(self) -> bool:
        return self.kind == BILABIAL

    @property
    def is_tongue_consonant(self) -> bool:
        return self.kind in TONGUE_CLASSES

    @property
    def is_open_vowel(self) -> bool:
        return self.kind == VOWEL and self.height >= 0.8

    @property
    def is_rounded(self) -> bool:
        return (self.kind == VOWEL and self.rounded) or self.kind == LABIAL_GLIDE


def _base_symbols(label: str) -> str:
    text = unicodedata.normalize("NFD", label)
    return "".join(ch for ch in text if ch not in _MODIFIERS and not unicodedata.category(ch).startswith("M"))


@functools.lru_cache(maxsize=4096)
def phone_info(label: str) -> PhoneInfo:
    """The mouth class of any phone label (IPA, espeak IPA names, ARPAbet, Festival)."""
    raw = label.strip()
    if raw in _PAUSE_LABELS or raw.startswith("_") or raw.startswith("("):
        return PhoneInfo(label, "", PAUSE)
    upper = raw.upper().rstrip("012")
    if upper in ARPABET_IPA and (raw.isupper() or raw[:-1].isupper()):
        base = ARPABET_IPA[upper]
    elif raw.rstrip("012") in _FESTIVAL:
        base = _FESTIVAL[raw.rstrip("012")]
    else:
        base = _base_symbols(raw).replace("g", "ɡ")
    if not base:
        # espeak names a reduced vowel without an IPA symbol (Russian "@-"): a schwa.
        return PhoneInfo(label, "", PAUSE) if raw.rstrip("012") in _FESTIVAL else PhoneInfo(label, "ə", VOWEL, 0.5, 0.5)
    first = base[0]
    if first in _VOWELS:
        height, back, rounded = _VOWELS[first]
        # Long sequences such as "ɛɹ" or "aɪ": glide toward the last vowel.
        tail = [s for s in base[1:] if s in _VOWELS]
        offglide = tail[-1] if tail else ("ə" if base.endswith(("ɹ", "ɚ")) else "")
        return PhoneInfo(label, base, VOWEL, height, back, rounded, offglide)
    kind = _CONSONANTS.get(first)
    if kind is None:
        # An unknown letter (a rare symbol): a neutral, lips-apart consonant.
        kind = ALVEOLAR
    return PhoneInfo(label, base, kind)


def is_bilabial(label: str) -> bool:
    return phone_info(label).is_bilabial


def is_tongue_consonant(label: str) -> bool:
    return phone_info(label).is_tongue_consonant


def is_open_vowel(label: str) -> bool:
    return phone_info(label).is_open_vowel


# --- mouth targets -------------------------------------------------------------

# Consonant targets by class (unspecified parameters are 0). The tongue classes
# keep the jaw a little open so the lips never meet on t, s, n or k.
_CLASS_TARGETS: dict[str, dict[str, float]] = {
    PAUSE: {},
    BILABIAL: dict(lip_press=1.0),
    LABIODENTAL: dict(jaw_open=0.1, lip_width=0.1, lower_lip_tuck=1.0, teeth=0.9, upper_lip_raise=0.3),
    LABIAL_GLIDE: dict(jaw_open=0.15, lip_width=-0.9, rounding=1.0),
    DENTAL: dict(jaw_open=0.28, tongue=1.0, teeth=0.7),
    ALVEOLAR: dict(jaw_open=0.22, lip_width=0.2, tongue=0.6, teeth=0.6),
    POSTALVEOLAR: dict(jaw_open=0.22, lip_width=-0.3, rounding=0.6, teeth=0.8, upper_lip_raise=0.3),
    PALATAL: dict(jaw_open=0.2, lip_width=0.5, teeth=0.5),
    BACK: dict(jaw_open=0.3, lip_width=0.1, teeth=0.3),
    GLOTTAL: dict(jaw_open=0.4, teeth=0.2),
}
# Finer consonant shapes within a class.
_SYMBOL_TARGETS: dict[str, dict[str, float]] = {
    "s": dict(jaw_open=0.18, lip_width=0.4, teeth=1.0), "z": dict(jaw_open=0.18, lip_width=0.4, teeth=1.0),
    "ɕ": dict(jaw_open=0.18, lip_width=0.45, teeth=1.0), "ʑ": dict(jaw_open=0.18, lip_width=0.45, teeth=1.0),
    "ʂ": dict(jaw_open=0.18, lip_width=0.1, teeth=0.9), "ʐ": dict(jaw_open=0.18, lip_width=0.1, teeth=0.9),
    "l": dict(jaw_open=0.3, tongue=1.0, teeth=0.5), "ɫ": dict(jaw_open=0.3, tongue=0.8, teeth=0.4),
    "ɹ": dict(jaw_open=0.25, lip_width=-0.3, rounding=0.5, teeth=0.2),
    "r": dict(jaw_open=0.3, tongue=0.5, teeth=0.4), "ɾ": dict(jaw_open=0.3, tongue=0.5, teeth=0.4),
    "ʁ": dict(jaw_open=0.3, lip_width=0.0, teeth=0.3), "ʀ": dict(jaw_open=0.3, teeth=0.3),
    "ʋ": dict(jaw_open=0.15, lower_lip_tuck=0.5, teeth=0.6),
    "ŋ": dict(jaw_open=0.25, lip_width=0.1, teeth=0.3),
}

# How strongly a class holds its shape against neighbours (Cohen & Massaro dominance).
DOMINANCE = {PAUSE: 1.5, BILABIAL: 3.0, LABIODENTAL: 2.5, LABIAL_GLIDE: 2.0, DENTAL: 1.0, ALVEOLAR: 0.7,
             POSTALVEOLAR: 1.5, PALATAL: 0.8, BACK: 0.5, GLOTTAL: 0.2, VOWEL: 1.0}


def _vowel_target(height: float, back: float, rounded: bool) -> dict[str, float]:
    jaw = 0.2 + 0.8 * height
    if rounded:
        width = -0.5 - 0.3 * (1.0 - height)
        rounding = 1.0 - 0.6 * height
        teeth = 0.0 if height < 0.5 else 0.2
    else:
        width = (0.1 + 0.6 * (1.0 - height)) * (1.0 - back) + 0.1 * back
        rounding = 0.0
        teeth = 0.5 if back < 0.5 else 0.3
    spec = dict(jaw_open=jaw, lip_width=width, rounding=rounding, teeth=teeth)
    if height >= 0.8 and back < 0.3 and not rounded:
        spec["upper_lip_raise"] = 0.2
    return spec


@functools.lru_cache(maxsize=4096)
def mouth_target(label: str) -> MouthParams:
    """The target mouth of any phone label."""
    info = phone_info(label)
    if info.kind == VOWEL:
        return MouthParams(**_vowel_target(info.height, info.backness, info.rounded))
    spec = _SYMBOL_TARGETS.get(info.base[:1]) if info.base else None
    if spec is None or (info.kind == POSTALVEOLAR):
        spec = _CLASS_TARGETS[info.kind]
    return MouthParams(**spec)


@functools.lru_cache(maxsize=4096)
def offglide_target(label: str) -> MouthParams | None:
    """Diphthongs: the shape they glide to (None for other phones)."""
    info = phone_info(label)
    if info.kind != VOWEL or not info.offglide:
        return None
    return MouthParams(**_vowel_target(*_VOWELS[info.offglide]))


def dominance(label: str) -> float:
    info = phone_info(label)
    if info.kind == VOWEL:
        return 1.0 + 0.5 * (info.rounded and info.height < 0.5)
    return DOMINANCE[info.kind]
