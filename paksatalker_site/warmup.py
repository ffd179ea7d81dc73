"""Work a web process does before it serves, so no request pays for it.

With gunicorn's preload (gunicorn.conf.py) ``app_warm`` runs once in the master and
the forked workers inherit the result; ``worker_warm`` runs in each worker before it
accepts connections. Anything that starts native thread pools (running a model) stays
out of the master: threads do not survive a fork.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)


def app_warm() -> None:
    """Imports and one-off probes: the URL tree and its schemas, task registration, the
    modules the request paths import lazily (the engines' too), ffmpeg's version and
    filters, and the expression checks (answered by a child process)."""
    from django.urls import get_resolver

    started = time.perf_counter()
    patterns = get_resolver().url_patterns  # builds the Ninja routers and their schemas
    import generation.pipeline.background.compose  # noqa: F401  (submission checks background options)
    import generation.tasks  # noqa: F401  (registers the Huey tasks submissions enqueue)
    from expressions.engines.registry import engine_statuses_prefetch
    from expressions.selectors import configured_models_dir
    from generation.engines import engines_get, engines_prefetch
    from generation.pipeline import media

    # Importing the engine modules (torch among them) here puts one copy in memory that every
    # forked worker shares; the checks that load weights run in the workers (worker_warm).
    engines_get()["native"].availability()  # imports mediapipe; no graph runs
    media.ffmpeg_version()
    media.ffmpeg_filters()
    # The expression checks and Wav2Lip's load models: throwaway children run them, the workers
    # inherit the answers (a Huey worker loads Wav2Lip for its first render).
    engine_statuses_prefetch(configured_models_dir())
    engines_prefetch()
    logger.info("web app warmed in %.2f s (%d URL patterns)", time.perf_counter() - started, len(patterns))


def worker_warm() -> None:
    """The engines' availability checks, cached per process, so the first /capabilities
    answer of each worker is as quick as the rest. The expression checks are normally a
    cache hit here (app_warm ran them in a child); they run here only if that failed."""
    from expressions.selectors import expression_capabilities
    from generation.engines import engines_check

    engines_check()
    expression_capabilities()
