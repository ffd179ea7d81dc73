"""The engines this server has, built once per process from settings."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

from django.conf import settings

from generation.pipeline.engines.base import Engine

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def engines_get() -> dict[str, Engine]:
    from generation.pipeline.engines.native.engine import NativeEngine
    from generation.pipeline.engines.still import StillEngine

    engines: dict[str, Engine] = {"sadtalker": _sadtalker(), "wav2lip": _wav2lip(), "native": NativeEngine(), "still": StillEngine()}
    return engines


def _sadtalker() -> Engine:
    from generation.pipeline.engines.sadtalker.engine import SadTalkerConfig, SadTalkerEngine

    return SadTalkerEngine(
        SadTalkerConfig(
            dir=Path(settings.PAKSA_SADTALKER_DIR) if settings.PAKSA_SADTALKER_DIR else None,
            checkpoints=Path(settings.PAKSA_SADTALKER_CHECKPOINTS) if settings.PAKSA_SADTALKER_CHECKPOINTS else None,
            python=settings.PAKSA_SADTALKER_PYTHON or sys.executable,
            enhancer=settings.PAKSA_FACE_ENHANCER,
            threads=settings.PAKSA_RENDER_THREADS,
            timeout_base_s=settings.PAKSA_SADTALKER_TIMEOUT_BASE,
            timeout_per_audio_s=settings.PAKSA_SADTALKER_TIMEOUT_PER_AUDIO_SECOND,
            strict_preprocess=settings.PAKSA_STRICT_PREPROCESS,
        )
    )


def _wav2lip() -> Engine:
    from generation.pipeline.engines.wav2lip.engine import Wav2LipEngine

    return Wav2LipEngine(settings.MODELS_DIR / "wav2lip", batch_size=8, threads=settings.PAKSA_RENDER_THREADS)


def engines_reset() -> None:
    """Forget the built engines (tests, or after models were dropped in)."""
    engines_get.cache_clear()


def engines_check() -> None:
    """Run every engine's one-off availability check (loading Wav2Lip, `inference.py --help`);
    the results are cached on the engines."""
    for engine in engines_get().values():
        try:
            engine.availability()
        except Exception:  # a check that crashes reports itself as unavailable later
            logger.exception("checking engine %s failed", engine.name)


def engines_warm() -> None:
    """engines_check on a background thread, so a starting worker process can take tasks at once."""
    import threading

    threading.Thread(target=engines_check, name="engines-warm", daemon=True).start()
