"""Housekeeping tasks (retention, orphaned files): thin, they call services."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="17"))
@lock_task("paksatalker-retention")
def retention_periodic_task() -> dict:
    """Hourly; the lock keeps two consumers (on two machines) from sweeping at once."""
    from generation.services.retention import retention_sweep

    return retention_sweep().as_dict()
