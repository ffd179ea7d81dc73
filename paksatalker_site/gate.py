"""Turns: at most ``PAKSA_WEB_ACTIVE_REQUESTS`` requests run Django code at once per web process.

Python holds one lock (the GIL) per process, so two requests running Python in the same
process do not run faster than one after the other; they interleave, and every one of them
finishes late. In back-to-back runs of a burst of 50 uploads on the 2-core build machine, 8
interleaved threads per process gave a submit p95 of 250-290 ms and one turn at a time
160-190 ms. gunicorn's threads stay for what does not need a turn: receiving a body from a
slow client and sending a response (event streams and downloads are sent after the view
returns).

A request's body is received in full before it waits for a turn, so a slow client never
holds one. Every POST form is parsed here, by form_parser.py: one that fits in
FILE_UPLOAD_MAX_MEMORY_SIZE and under every per-file limit is received in one read and
parsed from memory; a larger one is parsed as it arrives, its files going to temporary
files, and the per-file limits stop an oversized upload at its limit. Any other body is
copied into memory, or a temporary file above FILE_UPLOAD_MAX_MEMORY_SIZE. Bodies are
received this way with turns switched off too: only the turn is skipped. This middleware
sits after the API key, rate limit and size checks: a refused client's body is never read.
"""

from __future__ import annotations

import io
import tempfile
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream

from paksatalker_site.env import web_active_requests
from paksatalker_site.form_parser import body_chunks, form_parse, form_parse_stream
from paksatalker_site.responses import FORM_PARSE_ERRORS, form_error_response
from paksatalker_site.uploads import smallest_field_limit


class RequestGate:
    """A counting semaphore that also says how many requests wait for it or hold it."""

    def __init__(self, slots: int):
        self.slots = slots
        self._turns = threading.Semaphore(slots)  # waiters wake in arrival order
        self._count_lock = threading.Lock()
        self.pending = 0

    @contextmanager
    def turn(self):
        with self._count_lock:
            self.pending += 1
        try:
            with self._turns:
                yield
        finally:
            with self._count_lock:
                self.pending -= 1


GATE = RequestGate(max(1, web_active_requests()))


def body_receive(request):
    """Receive the whole body now; returns an error response when the form is refused."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None  # RequestSizeLimitMiddleware answers 400 before this runs
    if length <= 0:
        return None
    is_form = request.method == "POST" and request.content_type == "multipart/form-data"
    # A form small enough that no file in it can pass its limit is received first, in one
    # read; a larger one is parsed as it arrives, so the per-file limits stop it at the limit.
    in_memory = is_form and length <= min(settings.FILE_UPLOAD_MAX_MEMORY_SIZE, smallest_field_limit())
    if not is_form or in_memory:
        _body_spool(request, length)
    if is_form:
        try:
            if in_memory:
                request._post, request._files = form_parse(
                    request._spooled_body.getvalue(), request.META["CONTENT_TYPE"], request.encoding)
            else:
                request._post, request._files = form_parse_stream(
                    request._stream, length, request.META["CONTENT_TYPE"], request.encoding)
                request._read_started = True  # as after Django's own parse: request.body is gone
        except FORM_PARSE_ERRORS as exc:
            return form_error_response(exc)
    return None


def _body_spool(request, length: int) -> None:
    """Copy the body to memory, or to a temporary file above FILE_UPLOAD_MAX_MEMORY_SIZE.

    Up to that size the body is taken in one read: gunicorn copies what it has buffered on
    every read, so many small reads of a 465 KB upload copied it several times over. A form
    among these bodies is then parsed from that copy.
    """
    if length <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
        body = request._stream.read(length)
        spool, received = io.BytesIO(body), len(body)
    else:
        spool, received = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE), 0
        for chunk in body_chunks(request._stream, length):  # a short body stays short for the view's reader
            spool.write(chunk)
            received += len(chunk)
        spool.seek(0)
    # Django reads request bodies through request._stream; swap in the received copy.
    request._stream = LimitedStream(spool, received)
    request._spooled_body = spool  # closed with the request


class RequestGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = web_active_requests() > 0

    def __call__(self, request):
        refused = body_receive(request)
        if refused is not None:
            return refused
        try:
            if not self.enabled:
                return self.get_response(request)
            with GATE.turn():
                return self.get_response(request)
        finally:
            spool = getattr(request, "_spooled_body", None)
            if spool is not None:
                spool.close()
