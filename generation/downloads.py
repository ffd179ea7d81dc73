"""HTTP Range support for downloads, so browsers can seek in the MP4."""

from __future__ import annotations

import re

from django.http import HttpResponse, StreamingHttpResponse

from paksatalker_site.responses import error_response

CONTENT_TYPES = {"mp4": "video/mp4", "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}
CHUNK_BYTES = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(field, *, filename: str, range_header: str | None, head: bool = False) -> HttpResponse:
    size = field.storage.size(field.name)
    ext = filename.rsplit(".", 1)[-1]
    start, end, status = 0, size - 1, 200
    if range_header:
        match = RANGE.match(range_header.strip())
        if match is None or (not match[1] and not match[2]):
            return _unsatisfiable(size)
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(match[2]))
        if start > end or start >= size:
            return _unsatisfiable(size)
        status = 206
    length = end - start + 1
    body = b"" if head else _stream(field, start, length)
    response = HttpResponse(body, status=status) if head else StreamingHttpResponse(body, status=status)
    response["Content-Type"] = CONTENT_TYPES[ext]
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = error_response(416, "The requested range is outside the file.")
    response["Content-Range"] = f"bytes */{size}"
    return response


def _stream(field, start: int, length: int):
    with field.storage.open(field.name, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
