from __future__ import annotations

import pytest

from generation.pipeline.speech.inventory import (
    ARPABET_IPA,
    BILABIAL,
    LABIODENTAL,
    PAUSE,
    VOWEL,
    dominance,
    is_open_vowel,
    is_tongue_consonant,
    mouth_target,
    offglide_target,
    phone_info,
)
from generation.pipeline.speech.phonemes import ARPABET, SILENCE


@pytest.mark.parametrize("label", ["p", "b", "m", "ɓ", "ɸ", "β", "m̥", "pʰ", "bʲ", "mː", "pf", "P", "B", "M", "em"])
def test_bilabials_in_every_notation_close(label):
    assert phone_info(label).kind == BILABIAL
    target = mouth_target(label)
    assert target.lip_press == 1.0 and target.jaw_open == 0.0


@pytest.mark.parametrize("label", ["f", "v", "ɱ", "F", "V"])
def test_labiodentals_tuck(label):
    assert phone_info(label).kind == LABIODENTAL
    assert mouth_target(label).lower_lip_tuck > 0.9 and mouth_target(label).teeth > 0.5


@pytest.mark.parametrize("label", ["t", "d", "s", "z", "n", "l", "k", "ɡ", "g", "ʃ", "tʃ", "dʒ", "ɲ", "ç", "x", "ʁ", "r", "ɾ",
                                   "ts", "ʈ", "ɭ", "θ", "ð", "rʲ", "tʲ", "T", "D", "S", "Z", "N", "L", "K", "G", "SH", "dx"])
def test_tongue_consonants_keep_the_lips_apart(label):
    assert is_tongue_consonant(label)
    target = mouth_target(label)
    assert target.lip_press == 0.0 and target.jaw_open >= 0.15


@pytest.mark.parametrize("label", ["u", "uː", "o", "ɔ", "y", "ø", "œ", "ʊ", "w", "UW", "OW", "W", "ɥ"])
def test_rounded_sounds_narrow_and_protrude(label):
    info = phone_info(label)
    assert info.is_rounded
    target = mouth_target(label)
    assert target.rounding >= 0.3 and target.lip_width < 0


def test_open_vowels_open_by_height():
    order = ["i", "ɪ", "e", "ə", "ɛ", "æ", "a"]
    jaws = [mouth_target(v).jaw_open for v in order]
    assert jaws == sorted(jaws) and jaws[0] < 0.3 and jaws[-1] == 1.0
    assert is_open_vowel("a") and is_open_vowel("ɑː") and is_open_vowel("AA") and not is_open_vowel("i")
    # Front unrounded vowels spread the lips; ɑ does not round them.
    assert mouth_target("iː").lip_width > 0.5 and mouth_target("ɑ").rounding == 0.0
    # Nasalised and long vowels keep their base shape.
    assert mouth_target("ɔ̃") == mouth_target("ɔ") and mouth_target("aː") == mouth_target("a")


def test_diphthongs_glide_and_arpabet_maps_into_the_same_table():
    assert offglide_target("aɪ").jaw_open < mouth_target("aɪ").jaw_open
    assert offglide_target("oʊ").rounding > 0.5 and offglide_target("a") is None
    for arpa in ARPABET:
        assert phone_info(arpa).kind == phone_info(ARPABET_IPA[arpa]).kind
        assert mouth_target(arpa) == mouth_target(ARPABET_IPA[arpa])
    assert phone_info("AH0").kind == VOWEL


@pytest.mark.parametrize("label", [SILENCE, "_", "_:", "pau", "#", "", "(en)"])
def test_pauses(label):
    assert phone_info(label).kind == PAUSE
    assert mouth_target(label).jaw_open == 0.0 and mouth_target(label).lip_press == 0.0


def test_dominance_and_unknown_symbols():
    assert dominance("p") > dominance("a") > dominance("k")
    assert dominance("u") > dominance("i")
    # A symbol outside the table is a neutral consonant with the lips apart, never a closure.
    odd = phone_info("ʬ")
    assert odd.kind not in (BILABIAL, VOWEL) and mouth_target("ʬ").lip_press == 0.0
