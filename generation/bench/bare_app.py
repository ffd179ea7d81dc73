"""The load benchmark's baseline: a WSGI app that receives each request's whole body and
answers a fixed submission-shaped JSON, served by the same gunicorn settings as the real app.

It measures what the HTTP server, the kernel and the load client cost on this machine at
the moment of the run, so the real app's submit figures can be read as a ratio to it as
well as in milliseconds (the shared build machine's speed moves from run to run).
"""

from __future__ import annotations

import django
from django.apps import apps

if not apps.ready:
    django.setup()  # gunicorn.conf.py's worker warm-up runs Django's engine checks

ANSWER = b'{"success": true, "task_id": "00000000-0000-0000-0000-000000000000", "status": "processing"}'
READ_SIZE = 1 << 20


def application(environ, start_response):
    left = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    while left > 0:
        chunk = stream.read(min(left, READ_SIZE))
        if not chunk:
            break
        left -= len(chunk)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
