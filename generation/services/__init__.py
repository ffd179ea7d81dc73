"""Writes on generation jobs. Re-exported so callers import from ``generation.services``."""

from generation.services.jobs import (  # noqa: F401
    JobSuperseded,
    job_cancel,
    job_claim,
    job_complete,
    job_create,
    job_delete,
    job_fail,
    job_mark_cancelled,
    job_progress_update,
    job_retry,
    jobs_reap_stale,
    request_fingerprint,
)
from generation.services.running import job_run  # noqa: F401
from generation.services.submission import job_submit  # noqa: F401,E402
