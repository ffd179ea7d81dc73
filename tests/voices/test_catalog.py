from __future__ import annotations

import re
import subprocess

import pytest

from paksatalker_site.errors import ValidationFailed
from voices import catalog

EDGE_ID = re.compile(r"^([a-z]{2,})-([A-Z]{2,})-(.+Neural)$")  # the pattern edge-tts validates ids with


def _espeak_voice_names() -> set[str]:
    out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True, timeout=30).stdout
    # Columns: Pty Language Age/Gender VoiceName File Other; -v accepts the Language column.
    return {line.split()[1].lower() for line in out.splitlines()[1:] if line.split()}


def test_catalog_has_100_plus_unique_voices_sorted_by_id():
    voices = catalog.voice_list()
    ids = [v.voice_id for v in voices]
    assert len(ids) >= 100
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_catalog_covers_40_plus_languages():
    base_languages = {v.language_code.split("-")[0] for v in catalog.voice_list()}
    assert len(base_languages) >= 40
    for must in ("en", "de", "fr", "ja", "zh", "es", "ar", "hi", "ru", "pt", "ur"):
        assert must in base_languages


def test_voice_fields_are_consistent():
    for v in catalog.voice_list():
        match = EDGE_ID.match(v.voice_id)
        assert match, v.voice_id
        assert f"{match.group(1)}-{match.group(2)}" == v.language_code
        assert match.group(3) == f"{v.name}Neural"
        assert v.gender in ("Female", "Male")
        assert v.language and v.name


def test_voice_ids_are_accepted_by_edge_tts():
    edge_tts = pytest.importorskip("edge_tts")
    for v in catalog.voice_list():
        # Construction validates the id against edge-tts's own pattern; no network.
        edge_tts.Communicate("hi", v.voice_id)


def test_flags_are_the_locale_country():
    for v in catalog.voice_list():
        country = v.language_code.split("-")[1]
        assert len(v.flag) == 2
        assert "".join(chr(ord(ch) - 0x1F1E6 + ord("A")) for ch in v.flag) == country
    assert catalog.voice_get("en-GB-SoniaNeural").flag == "\U0001F1EC\U0001F1E7"


def test_language_list_sorted_with_counts():
    languages = catalog.language_list()
    names = [lang.name for lang in languages]
    assert names == sorted(names)
    assert len({lang.code for lang in languages}) == len(languages)
    assert sum(lang.voice_count for lang in languages) == len(catalog.voice_list())
    by_code = {lang.code: lang for lang in languages}
    assert by_code["en-US"].voice_count == sum(1 for v in catalog.voice_list() if v.language_code == "en-US")
    assert by_code["de-DE"].name == "German (Germany)"
    assert by_code["ja-JP"].flag == "\U0001F1EF\U0001F1F5"


def test_every_espeak_mapping_is_listed_by_espeak_ng():
    available = _espeak_voice_names()
    missing = sorted({v.espeak_voice for v in catalog.voice_list()} - available)
    assert not missing, f"espeak-ng lacks {missing}"


def test_every_espeak_mapping_loads():
    # Listing is not loading: ask espeak-ng to actually select each mapped voice.
    for name in sorted({v.espeak_voice for v in catalog.voice_list()}):
        proc = subprocess.run(["espeak-ng", "-v", name, "-q", "--stdin"], input=b"1", capture_output=True, timeout=30)
        assert proc.returncode == 0, (name, proc.stderr)


def test_every_gtts_mapping_is_supported_by_gtts():
    from gtts.lang import tts_langs

    supported = tts_langs()
    mapped = [v for v in catalog.voice_list() if v.gtts_lang]
    assert len(mapped) >= 100
    for v in mapped:
        assert v.gtts_lang in supported, v.voice_id
        assert re.fullmatch(r"[a-z]{2,3}(\.[a-z]{2})?", v.gtts_tld), v.gtts_tld


@pytest.mark.parametrize(
    ("voice_id", "lang", "tld"),
    [
        ("en-GB-RyanNeural", "en", "co.uk"),
        ("en-AU-NatashaNeural", "en", "com.au"),
        ("pt-BR-FranciscaNeural", "pt", "com.br"),
        ("fr-CA-SylvieNeural", "fr", "ca"),
        ("zh-CN-XiaoxiaoNeural", "zh-CN", "com"),
        ("en-US-JennyNeural", "en", "com"),
    ],
)
def test_gtts_accents(voice_id, lang, tld):
    v = catalog.voice_get(voice_id)
    assert (v.gtts_lang, v.gtts_tld) == (lang, tld)


def test_default_voice_exists():
    v = catalog.voice_get(catalog.DEFAULT_VOICE)
    assert (v.voice_id, v.name, v.gender, v.language_code) == ("en-US-JennyNeural", "Jenny", "Female", "en-US")


@pytest.mark.parametrize("bad", ["xx-XX-NobodyNeural", "", "en-US-jennyneural"])
def test_unknown_voice_is_422_naming_it(bad):
    with pytest.raises(ValidationFailed) as info:
        catalog.voice_get(bad)
    assert info.value.status_code == 422
    assert repr(bad) in info.value.detail
