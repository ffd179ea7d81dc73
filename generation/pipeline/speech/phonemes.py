"""Text side of the speech stage: ARPAbet labels, text normalisation for the
aligners, and a letter-to-sound guess for words CMUdict does not know.
(Phone classes for every language are in inventory.py.)

Django-free and dependency-free on purpose (pure string work).
"""

from __future__ import annotations

import re
import unicodedata

SILENCE = "SIL"
ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH",
    "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
_ARPABET_SET = frozenset(ARPABET)
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})


class _PhoneClass(frozenset):
    """ARPAbet members of a mouth class; ``in`` also answers for any label the
    inventory reads (IPA, espeak-ng, Festival): ``"ɓ" in BILABIALS``."""

    def __new__(cls, members, predicate: str):
        obj = super().__new__(cls, members)
        obj.predicate = predicate
        return obj

    def __contains__(self, label) -> bool:
        if frozenset.__contains__(self, label):
            return True
        from generation.pipeline.speech import inventory  # inventory imports this module

        return isinstance(label, str) and getattr(inventory, self.predicate)(label)


BILABIALS = _PhoneClass({"P", "B", "M"}, "is_bilabial")
OPEN_VOWELS = _PhoneClass({"AA", "AE", "AO", "AW", "AY"}, "is_open_vowel")


def normalize_phone(label: str) -> str:
    """ARPAbet without stress digits; every filler/noise/unknown label becomes SIL."""
    base = re.sub(r"\d", "", label.strip().upper())
    return base if base in _ARPABET_SET else SILENCE


# --- numbers -----------------------------------------------------------------

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def number_to_words(n: int) -> str:
    """Cardinal English words for a non-negative integer (``1234`` -> one thousand two hundred thirty four)."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return number_to_words(high) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return (head + " " + last).strip()


def _expand_number(match: re.Match) -> str:
    token = match.group(0)
    ordinal = re.search(r"(st|nd|rd|th)$", token, re.I)
    digits = token[: ordinal.start()] if ordinal else token
    digits = digits.replace(",", "")
    if "." in digits:
        whole, _, frac = digits.partition(".")
        spoken = number_to_words(int(whole or "0")) + " point " + " ".join(_ONES[int(d)] for d in frac if d.isdigit())
        return " " + spoken + " "
    if len(digits) > 15:  # a serial number, say it digit by digit
        return " " + " ".join(_ONES[int(d)] for d in digits) + " "
    spoken = number_to_words(int(digits))
    return " " + (_ordinal(spoken) if ordinal else spoken) + " "


_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}


def _is_word_char(ch: str) -> bool:
    # Letters of every script plus their combining marks (Devanagari vowel signs, Arabic harakat).
    return ch.isalnum() or ch == "'" or unicodedata.category(ch).startswith("M")


def normalize_text(text: str, language: str = "en") -> list[str]:
    """Lower-case words: every letter of every script kept, punctuation gone.

    English (the PocketSphinx aligner's language) also spells out numbers and
    symbols; other languages keep digits as they are (espeak-ng reads them).
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    if language.lower().startswith("en"):
        text = re.sub(r"\$(\d[\d,]*(?:\.\d+)?)", r"\1 dollars", text)
        for sym, spoken in _SYMBOLS.items():
            text = text.replace(sym, spoken)
        text = re.sub(r"\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?", _expand_number, text, flags=re.I)
    text = "".join(ch if _is_word_char(ch) else " " for ch in text.lower())
    words = [w.strip("'") for w in text.split()]
    return [w for w in words if w]


def english_words(words: list[str]) -> list[str]:
    """The words the English aligner can use (Latin letters and apostrophes only)."""
    return [w for w in words if re.fullmatch(r"[a-z']+", w)]


# --- letter-to-sound ---------------------------------------------------------

# Longest grapheme first; a rough guess is enough: the aligner only needs the
# right number and broad class of sounds for the mouth to move correctly.
_LTS_RULES: list[tuple[str, str]] = sorted([
    ("tion", "SH AH N"), ("sion", "ZH AH N"), ("ough", "OW"), ("augh", "AO"), ("eigh", "EY"), ("igh", "AY"),
    ("tch", "CH"), ("dge", "JH"), ("sch", "S K"), ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"),
    ("wh", "W"), ("ck", "K"), ("ng", "NG"), ("qu", "K W"), ("kn", "N"), ("wr", "R"), ("gh", "G"),
    ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("ai", "EY"), ("ay", "EY"),
    ("oa", "OW"), ("oi", "OY"), ("oy", "OY"), ("au", "AO"), ("aw", "AO"), ("ie", "IY"), ("ei", "EY"),
    ("ue", "UW"), ("ew", "UW"), ("ar", "AA R"), ("er", "ER"), ("ir", "ER"), ("ur", "ER"), ("or", "AO R"),
    ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"), ("g", "G"), ("h", "HH"),
    ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"),
    ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"),
    ("y", "Y"), ("z", "Z"),
], key=lambda rule: -len(rule[0]))
_LONG_VOWEL = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW"}
_VOWEL_LETTERS = "aeiouy"


def guess_pronunciation(word: str) -> str:
    """Space-separated ARPAbet for an unknown word, from spelling rules."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ""
    long_vowel_at = -1
    # Magic e: "paste" -> P EY S T; the final e is silent and lengthens the vowel before.
    if len(w) > 3 and w.endswith("e") and w[-2] not in _VOWEL_LETTERS and w[-3] in "aeiou":
        long_vowel_at = len(w) - 3
        w = w[:-1]
    phones: list[str] = []
    i = 0
    while i < len(w):
        if i == long_vowel_at:
            phones.append(_LONG_VOWEL[w[i]])
            i += 1
            continue
        if w[i] == "c" and i + 1 < len(w) and w[i + 1] in "eiy":
            phones.append("S")  # soft c
            i += 1
            continue
        if w[i] == "y" and i > 0:
            phones.append("IY" if i == len(w) - 1 else "IH")  # y as a vowel
            i += 1
            continue
        if w[i] == "a" and i == len(w) - 1 and i > 0:
            phones.append("AH")  # final a is a schwa: "paksa", "sofa"
            i += 1
            continue
        for graph, arpa in _LTS_RULES:
            if w.startswith(graph, i):
                phones.extend(arpa.split())
                i += len(graph)
                break
    # Collapse doubled consonants ("ll", "ss").
    out = [p for k, p in enumerate(phones) if k == 0 or p != phones[k - 1] or p in VOWELS]
    return " ".join(out)
