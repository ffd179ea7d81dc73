"""Work a web process does before it serves, so no request pays for it.

With gunicorn's preload (gunicorn.conf.py) ``app_warm`` runs once in the master and
the forked workers inherit the result; ``worker_warm`` runs in each worker before it
accepts connections. Anything that starts native thread pools (running a model) stays
out of the master: threads do not survive a fork.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def app_warm() -> None:
    """Imports and one-off probes: the URL tree and its schemas, task registration, the
    modules the request paths import lazily (the engines' too), ffmpeg's version and
    filters, and the checks that load models (answered by one child process)."""
    from django.urls import get_resolver

    started = time.perf_counter()
    patterns = get_resolver().url_patterns  # builds the Ninja routers and their schemas
    import generation.pipeline.background.compose  # noqa: F401  (submission checks background options)
    import generation.tasks  # noqa: F401  (registers the Huey tasks submissions enqueue)
    from generation.engines import engines_get
    from generation.pipeline import media

    # Importing the engine modules (torch among them) here puts one copy in memory that every
    # forked worker shares; the checks that load weights run in a throwaway child.
    engines_get()["native"].availability()  # imports mediapipe; no graph runs
    media.ffmpeg_version()
    media.ffmpeg_filters()
    model_checks_prefetch()
    logger.info("web app warmed in %.2f s (%d URL patterns)", time.perf_counter() - started, len(patterns))


def model_checks_prefetch(models: Path | None = None, *, timeout: float = 120.0) -> bool:
    """The checks that load models (the expression engines', Wav2Lip's) in one throwaway child;
    this process adopts the answers, and the workers forked from it inherit them.

    Run here, every web process would keep the models in memory only to answer /capabilities
    (a Huey worker loads Wav2Lip for its first render). Returns False (nothing adopted: the
    checks then run in each process) when the child fails or hangs.
    """
    from expressions.engines.registry import engine_statuses_adopt, models_fingerprint
    from expressions.selectors import configured_models_dir
    from generation.engines import wav2lip_adopt
    from generation.pipeline.process import answer_from_child

    models = Path(models) if models else configured_models_dir()
    fingerprint = models_fingerprint(models)
    answer = answer_from_child(_model_checks_into, models, name="model-checks", timeout=timeout)
    if answer is None:
        logger.warning("the model checks did not answer from a child process; each process will run them")
        return False
    statuses, wav2lip = answer
    engine_statuses_adopt(models, fingerprint, statuses)
    wav2lip_adopt(wav2lip)
    return True


def _model_checks_into(sender, models: Path) -> None:
    """The child's side (module level, so a spawned child finds it by import)."""
    from expressions.engines.registry import check_all
    from generation.engines import wav2lip_check

    sender.send((check_all(models), wav2lip_check()))
    sender.close()


def worker_warm() -> None:
    """The engines' availability checks, cached per process, so the first /capabilities
    answer of each worker is as quick as the rest. The checks that load models are normally
    a cache hit here (app_warm ran them in a child); they run here only if that failed."""
    from expressions.selectors import expression_capabilities
    from generation.engines import engines_check

    engines_check()
    expression_capabilities()
