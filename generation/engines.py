"""The engines this server has, built once per process from settings, and how server
paths read in what users see (``path_labels``)."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

from django.conf import settings

from generation.pipeline.engines.base import Engine
from generation.pipeline.engines.checkpoints import PathLabels

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def engines_get() -> dict[str, Engine]:
    """Building them imports no torch, scipy or onnxruntime: each engine loads its
    libraries only once its files check out (see each engine's ``availability``)."""
    from generation.pipeline.engines.native.engine import NativeEngine
    from generation.pipeline.engines.still import StillEngine

    labels = path_labels()
    engines: dict[str, Engine] = {"sadtalker": _sadtalker(labels), "wav2lip": _wav2lip(labels), "native": NativeEngine(), "still": StillEngine()}
    return engines


def path_labels() -> PathLabels:
    """Each configured folder as users should read it: relative to the project when it
    lies inside it (``models/wav2lip/``), else by the setting that names it."""
    base = Path(settings.BASE_DIR).resolve()

    def label(path, setting: str) -> str:
        try:
            relative = Path(path).resolve().relative_to(base)
        except ValueError:
            return f"{setting}/"
        return f"{relative}/" if str(relative) != "." else ""

    roots = {
        settings.BASE_DIR: "",
        settings.DATA_DIR: label(settings.DATA_DIR, "PAKSA_DATA_DIR"),
        settings.WORK_DIR: label(settings.WORK_DIR, "PAKSA_WORK_DIR"),
        settings.MODELS_DIR: label(settings.MODELS_DIR, "PAKSA_MODELS_DIR"),
    }
    if settings.PAKSA_SADTALKER_DIR:
        roots[settings.PAKSA_SADTALKER_DIR] = "PAKSA_SADTALKER_DIR/"
    if settings.PAKSA_SADTALKER_CHECKPOINTS:
        roots[settings.PAKSA_SADTALKER_CHECKPOINTS] = "PAKSA_SADTALKER_CHECKPOINTS/"
    return PathLabels.of(roots)


def _sadtalker(labels: PathLabels) -> Engine:
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
            labels=labels,
        )
    )


def _wav2lip(labels: PathLabels) -> Engine:
    from generation.pipeline.engines.wav2lip.engine import Wav2LipEngine

    return Wav2LipEngine(settings.MODELS_DIR / "wav2lip", batch_size=8, threads=settings.PAKSA_RENDER_THREADS, labels=labels)


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


def wav2lip_check() -> tuple:
    """Wav2Lip's availability and checkpoint. Its check loads the whole checkpoint: the web
    master runs it in a throwaway child (paksatalker_site.warmup) and adopts the answer."""
    engine = engines_get()["wav2lip"]
    return engine.availability(), engine.checkpoint


def wav2lip_adopt(answer: tuple) -> None:
    """Take ``wav2lip_check``'s answer from another process; this one loads the model only to render."""
    engines_get()["wav2lip"].adopt(*answer)


def engines_warm() -> None:
    """engines_check on a background thread, so a starting worker process can take tasks at once."""
    import threading

    threading.Thread(target=engines_check, name="engines-warm", daemon=True).start()
