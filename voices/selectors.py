"""Reads of the voice catalog (data in code, no database)."""

from __future__ import annotations

from voices import catalog
from voices.catalog import Voice

# How the mouth follows speech in a language: "phoneme" where espeak-ng speaks it (TTS phone
# events, transcript alignment by espeak-ng's synthesis); "approximate" elsewhere (word
# timings spread evenly, the English phone loop, or loudness).
LIP_SYNC_PHONEME, LIP_SYNC_APPROXIMATE = "phoneme", "approximate"


def voice_list(*, language: str | None = None) -> list[Voice]:
    """Voices sorted by voice_id; ``language`` keeps a locale ("en-GB") or all locales of a language ("en").

    Matching is case-insensitive and by whole subtags, so "en" never matches "eng-..".
    """
    voices = catalog.voice_list()
    wanted = (language or "").strip().lower()
    if not wanted:
        return voices
    return [v for v in voices if _matches(v.language_code.lower(), wanted)]


def _matches(code: str, wanted: str) -> bool:
    return code == wanted or code.startswith(wanted + "-")


def language_list() -> list[dict]:
    """Locales with voices, sorted by English name, each with how well the mouth follows it."""
    return [{**vars(lang), "lip_sync": language_lip_sync(code=lang.code)} for lang in catalog.language_list()]


def language_lip_sync(*, code: str) -> str:
    """"phoneme" when espeak-ng speaks the BCP-47 language ``code``, else "approximate"."""
    from generation.pipeline.speech.language import espeak_voice

    return LIP_SYNC_PHONEME if espeak_voice(code) is not None else LIP_SYNC_APPROXIMATE


def phoneme_language_list() -> list[str]:
    """Every language code (espeak-ng's, BCP-47 style) with phoneme-accurate lip sync, sorted.

    More than the voice locales: uploaded audio with a transcript may be in any of them.
    """
    import langcodes

    from generation.pipeline.speech.language import phoneme_languages

    codes = {entry["code"] for entry in phoneme_languages()}
    # espeak-ng writes them in lower case ("pt-br"); BCP-47 case where the tag is standard.
    return sorted({langcodes.standardize_tag(code) if langcodes.tag_is_valid(code) else code for code in codes},
                  key=str.lower)


def voice_get(*, voice_id: str) -> Voice:
    """The voice, or ValidationFailed (422) naming the unknown id."""
    return catalog.voice_get(voice_id)
