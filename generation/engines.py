"""The engines this server has, built once per process from settings."""

from __future__ import annotations

import functools
import logging

from django.conf import settings

from generation.pipeline.engines.base import Engine

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def engines_get() -> dict[str, Engine]:
    from generation.pipeline.engines.native import NativeEngine
    from generation.pipeline.engines.still import StillEngine

    engines: dict[str, Engine] = {"sadtalker": _sadtalker(), "wav2lip": _wav2lip(), "native": NativeEngine(), "still": StillEngine()}
    return engines


def _sadtalker() -> Engine:
    from generation.pipeline.engines.sadtalker import SadTalkerConfig, SadTalkerEngine

    return SadTalkerEngine(
        SadTalkerConfig.from_values(
            directory=settings.PAKSA_SADTALKER_DIR,
            checkpoints=settings.PAKSA_SADTALKER_CHECKPOINTS,
            python=settings.PAKSA_SADTALKER_PYTHON,
            enhancer=settings.PAKSA_FACE_ENHANCER,
            threads=settings.PAKSA_RENDER_THREADS,
            timeout_base_s=settings.PAKSA_SADTALKER_TIMEOUT_BASE,
            timeout_per_audio_s=settings.PAKSA_SADTALKER_TIMEOUT_PER_AUDIO_SECOND,
            strict_preprocess=settings.PAKSA_STRICT_PREPROCESS,
        )
    )


def _wav2lip() -> Engine:
    from generation.pipeline.engines.wav2lip import Wav2LipEngine

    return Wav2LipEngine(checkpoint_dir=settings.MODELS_DIR / "wav2lip", threads=settings.PAKSA_RENDER_THREADS)


def engines_reset() -> None:
    """Forget the built engines (tests, or after models were dropped in)."""
    engines_get.cache_clear()
