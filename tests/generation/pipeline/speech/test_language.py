from __future__ import annotations

import pytest

from generation.pipeline.speech.language import detect_language, espeak_voice, phoneme_languages, script_of


@pytest.mark.parametrize("text,language,how", [
    ("Buenos días, me llamo Paksa y hablo español.", "es", "classifier"),
    ("Bonjour, je m'appelle Paksa et je parle français.", "fr", "classifier"),
    ("Guten Tag, ich heiße Paksa und spreche Deutsch.", "de", "classifier"),
    ("Доброе утро, меня зовут Пакса.", "ru", "classifier"),
    ("नमस्ते, मेरा नाम पाक्सा है।", "hi", "script"),
    ("صباح الخير، اسمي باكسا.", "ar", "classifier"),
    ("Καλημέρα, με λένε Πάκσα.", "el", "script"),
    ("こんにちは、パクサです。", "ja", "script"),
    ("Hello there, my name is Paksa.", "en", "classifier"),
])
def test_detects_script_and_language(text, language, how):
    guess = detect_language(text)
    assert (guess.language, guess.how) == (language, how)


def test_given_language_wins_and_unsure_text_falls_back():
    assert detect_language("Hola", "pt-BR").language == "pt-BR"
    assert detect_language("42 17").how == "fallback" and detect_language("42 17").language == "en"
    assert detect_language("ok").language == "en"
    assert script_of("Привет, world!!") == "CYRILLIC" and script_of("123") == ""


@pytest.mark.parametrize("tag,voice", [("es", "es"), ("pt-BR", "pt-br"), ("pt", "pt"), ("en", "en-us"), ("en-GB", "en-gb"),
                                       ("fr", "fr-fr"), ("fr-CA", "fr-fr"), ("zh", "cmn"), ("zh-HK", "yue"), ("hi", "hi"),
                                       ("no", "nb"), ("sr-Latn", "sr")])
def test_espeak_voice_for_bcp47(tag, voice):
    assert espeak_voice(tag) == voice


def test_languages_without_espeak_voice_and_the_table():
    assert espeak_voice("xx") is None and espeak_voice("") is None
    table = phoneme_languages()
    codes = {row["code"] for row in table}
    assert {"en-us", "es", "de", "fr-fr", "ru", "hi", "el", "ar", "cmn"} <= codes
    assert all(row["lip_sync"] == "phoneme" for row in table) and len(table) > 80
