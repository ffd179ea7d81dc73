"""Speech synthesis for the generation service: validate the voice, run the TTS chain."""

from __future__ import annotations

import logging
from pathlib import Path

from voices import tts
from voices.catalog import voice_get
from voices.tts import TTSResult

logger = logging.getLogger(__name__)


def voice_synthesize(
    *,
    text: str,
    voice_id: str,
    out_dir: Path,
    providers: tuple[str, ...] = tts.DEFAULT_PROVIDERS,
    online_timeout_s: float = 4.0,
) -> TTSResult:
    """Speak ``text`` as ``voice_id`` into ``out_dir``.

    Raises ValidationFailed (422) for an unknown voice or empty text before any
    provider runs, and TTSError (502) when every provider failed.
    """
    voice = voice_get(voice_id)
    result = tts.synthesize(text, voice.voice_id, Path(out_dir), providers=providers, online_timeout_s=online_timeout_s)
    if result.attempts:
        logger.info("Voice %s spoken by %s after fallbacks: %s", voice.voice_id, result.provider, result.attempts)
    return result
