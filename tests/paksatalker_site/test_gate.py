"""Turns: one request runs Django code at a time per process, after its body has arrived."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from paksatalker_site import gate


def test_a_second_request_waits_its_turn_and_is_counted_while_waiting():
    turns = gate.RequestGate(1)
    order = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first():
        with turns.turn():
            order.append("first in")
            first_in.set()
            release_first.wait(5)
            order.append("first out")

    def second():
        first_in.wait(5)
        with turns.turn():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(5)
    deadline = time.monotonic() + 5
    while turns.pending < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert turns.pending == 2  # one holds the turn, one waits: what the worker's accept rule reads
    assert order == ["first in"]
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert order == ["first in", "first out", "second in"]
    assert turns.pending == 0


def _post(body: bytes, declared: int | None = None):
    """A POST whose body is read from a socket-like stream; returns (request, that stream)."""
    request = RequestFactory().post("/api/v1/anything", data=body, content_type="application/octet-stream")
    declared = len(body) if declared is None else declared
    request.META["CONTENT_LENGTH"] = str(declared)
    raw = io.BytesIO(body)
    request._stream = type(request._stream)(raw, declared)
    return request, raw


def test_the_body_arrives_in_full_before_the_turn_and_the_view_still_reads_it():
    body = b"x" * (3 * 1024 * 1024 + 17)  # above the in-memory limit: spooled to a temporary file
    request, raw = _post(body)
    seen = {}

    def view(req):
        seen["unread_when_turn_started"] = len(body) - raw.tell()
        seen["pending"] = gate.GATE.pending
        seen["body"] = req.read()
        return HttpResponse("ok")

    response = gate.RequestGateMiddleware(view)(request)
    assert response.status_code == 200
    assert seen == {"unread_when_turn_started": 0, "pending": 1, "body": body}
    assert request._spooled_body.closed  # the spool goes with the request


def test_a_short_body_is_passed_on_short():
    request, _ = _post(b"abc", declared=10)  # the client promised more than it sent
    response = gate.RequestGateMiddleware(lambda req: HttpResponse(req.read()))(request)
    assert response.content == b"abc"


def test_turns_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("PAKSA_WEB_ACTIVE_REQUESTS", "0")
    request, raw = _post(b"payload")
    seen = {}

    def view(req):
        seen.update(pending=gate.GATE.pending, unread=len(b"payload") - raw.tell(), body=req.read())
        return HttpResponse("ok")

    gate.RequestGateMiddleware(view)(request)
    assert seen == {"pending": 0, "unread": 0, "body": b"payload"}  # no turn taken; the body still arrives first


class UnreadableInput(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("the body of a refused request was read")

    readinto = read


@pytest.mark.django_db
@override_settings(PAKSA_API_KEYS=("k-123",))
def test_a_refused_client_body_is_never_read(client):
    # The turn middleware sits after the key, rate and size checks: it spools only accepted requests.
    response = client.generic("POST", "/api/v1/generate/video-from-prompt", data=b"z" * 1000,
                              content_type="multipart/form-data; boundary=b", **{"wsgi.input": UnreadableInput()})
    assert response.status_code == 401
    assert response.json()["success"] is False


def _multipart(file_bytes: bytes) -> tuple[bytes, str]:
    body = (b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nHello.\r\n'
            b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + file_bytes + b"\r\n--b--\r\n")
    return body, "multipart/form-data; boundary=b"


def _multipart_post(body: bytes, content_type: str):
    request = RequestFactory().generic("POST", "/api/v1/generate/video-from-prompt", data=body, content_type=content_type)
    raw = io.BytesIO(body)
    request._stream = type(request._stream)(raw, len(body))
    return request, raw


def test_a_form_is_parsed_before_the_turn():
    body, content_type = _multipart(b"\x89PNG" + b"p" * 300_000)
    request, raw = _multipart_post(body, content_type)
    seen = {}

    def view(req):
        seen["unread"] = len(body) - raw.tell()
        seen["parsed"] = hasattr(req, "_files")
        return HttpResponse(req.FILES["image"].read()[:4] + req.POST["prompt"].encode())

    response = gate.RequestGateMiddleware(view)(request)
    assert seen == {"unread": 0, "parsed": True}
    assert response.content == b"\x89PNGHello."


class CountingStream(io.BytesIO):
    reads = 0

    def read(self, size=-1, /):
        self.reads += 1
        return super().read(size)


def test_a_small_form_is_received_in_one_read_and_parsed_from_memory():
    body, content_type = _multipart(b"\x89PNG" + b"p" * 300_000)
    request = RequestFactory().generic("POST", "/api/v1/generate/video-from-prompt", data=body, content_type=content_type)
    raw = CountingStream(body)
    request._stream = type(request._stream)(raw, len(body))
    response = gate.RequestGateMiddleware(lambda req: HttpResponse(req.FILES["image"].read()[:4] + req.POST["prompt"].encode()))(request)
    assert response.content == b"\x89PNGHello."
    assert raw.reads == 1  # not one per 64 KB chunk of the form parser


@override_settings(PAKSA_MAX_IMAGE_BYTES=100_000)
def test_a_file_over_its_limit_stops_the_upload_there():
    body, content_type = _multipart(b"q" * 1_000_000)
    request, raw = _multipart_post(body, content_type)
    response = gate.RequestGateMiddleware(lambda req: pytest.fail("the view ran"))(request)
    assert response.status_code == 413 and b"image" in response.content
    assert raw.tell() < 300_000  # refused near the limit, not after the whole megabyte
