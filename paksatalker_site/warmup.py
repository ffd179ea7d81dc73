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
    """Imports and one-off probes: the URL tree and its schemas, task registration,
    the modules the request paths import lazily, and ffmpeg's version and filters."""
    from django.db import connections
    from django.urls import get_resolver

    started = time.perf_counter()
    patterns = get_resolver().url_patterns  # builds the Ninja routers and their schemas
    import generation.pipeline.background  # noqa: F401  (submission checks background options)
    import generation.tasks  # noqa: F401  (registers the Huey tasks submissions enqueue)
    from generation.pipeline import media
    from generation.pipeline.engines.native import NativeEngine

    NativeEngine().availability()  # imports mediapipe; no graph runs
    media.ffmpeg_version()
    media.ffmpeg_filters()
    # Forked workers must not share the master's database connections.
    connections.close_all()
    logger.info("web app warmed in %.2f s (%d URL patterns)", time.perf_counter() - started, len(patterns))


def worker_warm() -> None:
    """The availability checks that load models, cached per process: the first
    /capabilities answer of each worker is then as quick as the rest."""
    from expressions.selectors import expression_capabilities
    from generation.engines import engines_check

    engines_check()
    expression_capabilities()
