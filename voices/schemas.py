"""Explicit In and Out schemas of /voices and /languages."""

from __future__ import annotations

from ninja import Schema


class VoiceFilterIn(Schema):
    # A locale ("en-GB") or a language ("en"), case-insensitive; an unknown one lists no voices.
    language: str | None = None


class VoiceOut(Schema):
    voice_id: str
    language: str
    language_code: str
    flag: str
    name: str
    gender: str


class VoiceListOut(Schema):
    success: bool = True
    voices: list[VoiceOut]


class LanguageOut(Schema):
    code: str
    name: str
    flag: str
    voice_count: int
    lip_sync: str  # "phoneme" (espeak-ng speaks it) | "approximate"


class LanguageListOut(Schema):
    success: bool = True
    languages: list[LanguageOut]
    # Every language code whose uploaded audio + transcript also gets phoneme-accurate sync.
    phoneme_languages: list[str] = []
