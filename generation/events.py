"""Server-Sent Events for one job: progress pushed to the browser until the job ends.

Each viewer holds one gunicorn thread, so the stream is bounded in time, polls with short
autocommit reads (no transaction stays open between polls), and a web process opens at most
PAKSA_MAX_EVENT_STREAMS of them: the rest of its threads stay for ordinary requests, and a
flood of viewers gets 503s (the studio then polls /status) instead of a web tier that stops
answering.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import StreamingHttpResponse

from generation.models import ENDED_STATUSES, GenerationJob
from generation.selectors import job_status_data
from paksatalker_site.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
# Minimum gap between events that only refresh the ETA (it changes on every poll).
ETA_REFRESH_SECONDS = 2.0
RETRY_MS = 2000
EVENT_KEYS = ("task_id", "status", "progress", "stage", "eta_seconds", "queue_position", "error")


class StreamSlots:
    """Event streams open at once in this process; a slot is given back when its response closes."""

    def __init__(self, limit: int):
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def open(self, chunks: Iterator[bytes]) -> StreamSlot:
        if not self._free.acquire(blocking=False):
            raise ServiceUnavailable(
                f"{self.limit} event streams are already open on this server process; poll /status instead.", retry_after=5
            )
        return StreamSlot(self._free, chunks)


class StreamSlot:
    """A stream's chunks holding a slot; the WSGI server closes it when the response ends, even unread."""

    def __init__(self, free: threading.BoundedSemaphore, chunks: Iterator[bytes]):
        self._free: threading.BoundedSemaphore | None = free
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        if self._free is not None:
            self._free.release()
            self._free = None
        self._chunks.close()


STREAM_SLOTS = StreamSlots(settings.PAKSA_MAX_EVENT_STREAMS)


def job_event_stream(*, job_id: str) -> StreamingHttpResponse:
    """text/event-stream of ``{task_id, status, progress, stage, eta_seconds, queue_position, error}``;
    ends right after the event that reports completed, failed or cancelled."""
    max_seconds = float(getattr(settings, "PAKSA_EVENT_STREAM_MAX_SECONDS", 3600))
    chunks = STREAM_SLOTS.open(job_events(job_id=job_id, max_seconds=max_seconds))
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through unbuffered
    return response


def job_events(
    *,
    job_id: str,
    poll_seconds: float = POLL_SECONDS,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
    max_seconds: float = 3600.0,
) -> Iterator[bytes]:
    """The SSE byte chunks for one job (a generator: the response streams it)."""
    started = last_sent = time.monotonic()
    last_eta_sent = 0.0
    yield f"retry: {RETRY_MS}\n\n".encode()
    previous: dict | None = None
    progress_floor = 0
    while True:
        job = GenerationJob.objects.filter(id=job_id).first()
        if job is None:  # deleted meanwhile: the client's next request gets the 404
            logger.info("event stream %s: job is gone", job_id)
            return
        data = {key: value for key, value in job_status_data(job).items() if key in EVENT_KEYS}
        # The row never goes backwards either; this keeps the promise even across a re-queue.
        progress_floor = data["progress"] = max(progress_floor, int(data["progress"]))
        ended = job.status in ENDED_STATUSES
        now = time.monotonic()
        if previous is None or _changed(previous, data) or (
            data["eta_seconds"] != previous["eta_seconds"] and now - last_eta_sent >= ETA_REFRESH_SECONDS
        ):
            yield _event(data)
            previous, last_sent, last_eta_sent = data, now, now
        if ended:
            return
        if now - last_sent >= keepalive_seconds:
            yield b": keepalive\n\n"
            last_sent = now
        if now - started >= max_seconds:
            # EventSource reconnects by itself (after ``retry``), so a long job is not lost.
            logger.info("event stream %s: closing after %.0f s", job_id, max_seconds)
            return
        time.sleep(poll_seconds)


def _changed(previous: dict, data: dict) -> bool:
    return any(previous[key] != data[key] for key in EVENT_KEYS if key != "eta_seconds")


def _event(data: dict) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
