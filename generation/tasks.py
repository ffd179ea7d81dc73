"""Huey tasks: thin, they take ids and call services.

Services are imported inside the task bodies: ``generation.services.jobs`` enqueues
these tasks, so a module-level import would make the two packages import each other,
and a worker loads the render code only when it first renders.
"""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

logger = logging.getLogger(__name__)


@db_task(context=False)
def job_render_task(job_id: str) -> None:
    from generation.services.running import job_run

    job_run(job_id=job_id)


# Priority: a reap must not wait behind renders for the worker's slot.
@db_task(context=False, priority=100)
def jobs_reap_task() -> None:
    from generation.services.jobs import jobs_reap_stale

    outcome = jobs_reap_stale()
    if outcome["requeued"] or outcome["failed"]:
        logger.warning("reaper: %s", outcome)


@db_periodic_task(crontab(minute=f"*/{max(1, settings.PAKSA_REAPER_INTERVAL_SECONDS // 60)}"), priority=100)
def jobs_reap_periodic_task() -> None:
    jobs_reap_task.call_local()


@on_startup()
def _reap_after_start() -> None:
    # A restarted worker checks for jobs its predecessor left behind as soon as
    # their heartbeats can have gone stale, instead of waiting for the next minute.
    jobs_reap_task.schedule(delay=settings.PAKSA_STALE_AFTER_SECONDS + 1)
    from generation.engines import engines_warm

    engines_warm()


# Retention and other housekeeping live in their own module; importing it registers them.
from generation import tasks_maintenance  # noqa: E402,F401
