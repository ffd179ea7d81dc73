"""Writes on generation jobs. Re-exported so callers import from ``generation.services``.

Kept light: the job row writes load with the package; ``job_run`` (the pipeline and
its engines) and ``job_submit`` (schemas, upload checks) load on first use, so
importing this package (the admin, the task module) pulls in no render code.
"""

from importlib import import_module

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

_LAZY = {"job_run": "generation.services.running", "job_submit": "generation.services.submission"}


def __getattr__(name: str):
    # PEP 562: resolve the heavy re-exports when first asked for.
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
