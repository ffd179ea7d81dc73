"""Reads of the voice catalog (data in code, no database)."""

from __future__ import annotations

from voices import catalog
from voices.catalog import Language, Voice


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


def language_list() -> list[Language]:
    """Locales with voices, sorted by English name."""
    return catalog.language_list()


def voice_get(*, voice_id: str) -> Voice:
    """The voice, or ValidationFailed (422) naming the unknown id."""
    return catalog.voice_get(voice_id)
