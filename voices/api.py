"""GET /voices and GET /languages (mounted under /api/v1)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from voices import selectors
from voices.schemas import LanguageListOut, VoiceFilterIn, VoiceListOut

router = Router(tags=["voices"])


@router.get("/voices", response={200: VoiceListOut}, url_name="voice_list")
def voice_list(request: HttpRequest, filters: Query[VoiceFilterIn]):
    return {"success": True, "voices": selectors.voice_list(language=filters.language)}


@router.get("/languages", response={200: LanguageListOut}, url_name="language_list")
def language_list(request: HttpRequest):
    return {"success": True, "languages": selectors.language_list(), "phoneme_languages": selectors.phoneme_language_list()}
