"""Download responses: who serves the bytes of a job's file.

- S3 storage, the video: a 302 to a short-lived presigned URL; S3 itself serves the
  body and every Range request, so no video bytes pass through Django.
- Local storage behind nginx (PAKSA_X_ACCEL_REDIRECT_PREFIX): an empty response whose
  X-Accel-Redirect header makes nginx serve the file, Ranges included.
- Otherwise Django serves the file with HTTP Range support, so browsers can seek.

Captions on S3 are served by Django: they are a few KB, and a <track> element may not
follow a redirect to another origin.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from paksatalker_site.responses import error_response

CONTENT_TYPES = {"mp4": "video/mp4", "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}
CHUNK_BYTES = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
REDIRECTED_EXTENSIONS = ("mp4",)


def download_response(field, *, filename: str, range_header: str | None, head: bool = False) -> HttpResponse:
    """The response for one stored file of a job (``field``), downloaded as ``filename``."""
    ext = filename.rsplit(".", 1)[-1]
    if ext in REDIRECTED_EXTENSIONS and _is_s3(field.storage):
        return presigned_redirect_response(field, filename=filename, head=head)
    if settings.PAKSA_X_ACCEL_REDIRECT_PREFIX and isinstance(field.storage, FileSystemStorage):
        # A range nginx would refuse is refused here, so the 416 keeps the JSON error shape.
        size = field.storage.size(field.name)
        if range_header and _byte_range(range_header, size) is None:
            return _unsatisfiable(size)
        return accel_redirect_response(field, filename=filename)
    return ranged_file_response(field, filename=filename, range_header=range_header, head=head)


def presigned_redirect_response(field, *, filename: str, head: bool = False) -> HttpResponse:
    """302 to a presigned URL valid for PAKSA_DOWNLOAD_URL_TTL seconds.

    The signature covers the HTTP method, so a HEAD gets a URL signed for HEAD. S3 answers
    with the same Content-Type and Content-Disposition as a local download.
    """
    ext = filename.rsplit(".", 1)[-1]
    url = field.storage.url(
        field.name,
        parameters={"ResponseContentType": CONTENT_TYPES[ext], "ResponseContentDisposition": _disposition(filename)},
        expire=settings.PAKSA_DOWNLOAD_URL_TTL,
        http_method="HEAD" if head else "GET",
    )
    response = HttpResponseRedirect(url)
    # The URL expires: no cache may keep the redirect longer than the signature lives.
    response["Cache-Control"] = "no-store"
    return response


def accel_redirect_response(field, *, filename: str) -> HttpResponse:
    """Hand the file to nginx: its internal location maps the prefix onto MEDIA_ROOT.

    nginx keeps Content-Type and Content-Disposition from this response and serves the
    body, HEAD and Ranges itself.
    """
    ext = filename.rsplit(".", 1)[-1]
    prefix = settings.PAKSA_X_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/"
    response = HttpResponse(b"")
    response["X-Accel-Redirect"] = prefix + quote(field.name)
    response["Content-Type"] = CONTENT_TYPES[ext]
    response["Content-Disposition"] = _disposition(filename)
    return response


def ranged_file_response(field, *, filename: str, range_header: str | None, head: bool = False) -> HttpResponse:
    size = field.storage.size(field.name)
    ext = filename.rsplit(".", 1)[-1]
    start, end, status = 0, size - 1, 200
    if range_header:
        byte_range = _byte_range(range_header, size)
        if byte_range is None:
            return _unsatisfiable(size)
        (start, end), status = byte_range, 206
    length = end - start + 1
    body = b"" if head else _stream(field, start, length)
    response = HttpResponse(body, status=status) if head else StreamingHttpResponse(body, status=status)
    response["Content-Type"] = CONTENT_TYPES[ext]
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = _disposition(filename)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _byte_range(range_header: str, size: int) -> tuple[int, int] | None:
    """First and last byte of one ``bytes=`` range within ``size``; None when unsatisfiable."""
    match = RANGE.match(range_header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(match[2])), size - 1
    if start > end or start >= size:
        return None
    return start, end


def _disposition(filename: str) -> str:
    # Download names are "<uuid>.<ext>" (selectors.DOWNLOAD_NAME): nothing to escape.
    return f'inline; filename="{filename}"'


def _is_s3(storage) -> bool:
    # Looked up rather than imported: an S3Storage instance means its module is loaded,
    # and local installations never pay for importing boto3.
    module = sys.modules.get("storages.backends.s3")
    return module is not None and isinstance(storage, module.S3Storage)


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
