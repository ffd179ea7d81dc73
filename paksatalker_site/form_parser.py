"""Multipart forms, parsed by the `multipart` library's push parser in strict mode.

Two ways in, one parser. A form the gate has received whole (no bigger than
FILE_UPLOAD_MAX_MEMORY_SIZE, and one in which no file can pass its field's limit) is parsed
from memory in one pass: for a 465 KB photo that is about 0.2 ms of CPU, where Django's
MultiPartParser, streaming it through upload handlers in 64 KB pieces, took 0.9 ms, a sixth of
a submission. A larger form is parsed as it arrives: each file goes to a temporary file and
the upload stops with a 413 as soon as a file passes its field's limit, so an oversized file
is never held whole, in memory or on disk.

Either way the result is what Django's parser builds (a QueryDict of fields and a
MultiValueDict of uploaded files), under the same DATA_UPLOAD_* limits and with the same
exceptions, so the views and the error responses do not know which way a form came in.
Strict mode refuses malformed bodies that Django's parser lets through, such as bytes in
front of the first boundary or a boundary followed by other bytes.
"""

from __future__ import annotations

import io
import logging

import multipart
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile, UploadedFile
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters

from paksatalker_site.errors import PayloadTooLarge
from paksatalker_site.uploads import field_limit, human_bytes

logger = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024


def form_parse(body: bytes, content_type: str, encoding: str | None = None) -> tuple[QueryDict, MultiValueDict]:
    """The fields and files of a multipart/form-data body held in memory."""
    return _parse([body], len(body), content_type, encoding, spool=False)


def form_parse_stream(stream, length: int, content_type: str, encoding: str | None = None) -> tuple[QueryDict, MultiValueDict]:
    """The fields and files of a multipart/form-data body read from ``stream`` as it arrives."""
    return _parse(body_chunks(stream, length), length, content_type, encoding, spool=True)


def body_chunks(stream, length: int):
    """A request body of ``length`` bytes, read in pieces; it ends early if the client sent less."""
    received = 0
    while received < length:
        chunk = stream.read(min(READ_CHUNK, length - received))
        if not chunk:
            return
        received += len(chunk)
        yield chunk


def _parse(chunks, length: int, content_type: str, encoding: str | None, *, spool: bool) -> tuple[QueryDict, MultiValueDict]:
    _, params = parse_header_parameters(content_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultiPartParserError("the Content-Type header names no boundary")
    form = _FormBuilder(encoding or settings.DEFAULT_CHARSET, spool=spool)
    try:
        parser = multipart.PushMultipartParser(boundary, content_length=length, strict=True)
        for chunk in chunks:
            for event in parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    form.begin(event)
                elif event is None:
                    form.end()
                else:
                    form.data(event)
        parser.close()
    except multipart.MultipartError as exc:
        form.discard()
        raise MultiPartParserError(str(exc)) from exc
    except BaseException:
        form.discard()
        raise
    return form.finish()


class _FormBuilder:
    """Collects parts the way Django's MultiPartParser does, with its limits and its errors."""

    def __init__(self, encoding: str, *, spool: bool):
        self.encoding, self.spool = encoding, spool
        self.fields = QueryDict(mutable=True, encoding=encoding)
        self.files = MultiValueDict()
        self.field_count = self.file_count = self.field_bytes = 0
        self.segment: multipart.MultipartSegment | None = None
        self.chunks: list[bytes] = []
        self.file: UploadedFile | None = None
        self.received = 0

    def begin(self, segment: multipart.MultipartSegment) -> None:
        self.segment, self.chunks, self.file, self.received = segment, [], None, 0
        self.file_name = _file_name(segment) if segment.filename else ""
        if not segment.filename:  # as in Django, filename="" (a file input left empty) makes a text field
            self.field_count += 1
            if settings.DATA_UPLOAD_MAX_NUMBER_FIELDS is not None and self.field_count > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
                raise TooManyFieldsSent("The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
            self._count_field_bytes(len(segment.name) + 2)
            return
        self.file_count += 1
        if settings.DATA_UPLOAD_MAX_NUMBER_FILES is not None and self.file_count > settings.DATA_UPLOAD_MAX_NUMBER_FILES:
            raise TooManyFilesSent("The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.")
        self.limit = field_limit(segment.name)
        if self.spool and self.file_name:
            self.file = TemporaryUploadedFile(self.file_name, segment.content_type or "", 0, segment.charset)

    def data(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if not self.segment.filename:
            self._count_field_bytes(len(chunk))
        elif self.received > self.limit:
            logger.info("upload field %s passed its limit of %s bytes", self.segment.name, self.limit)
            raise PayloadTooLarge(f"{self.segment.name}: the file is larger than the limit of {human_bytes(self.limit)}.")
        if self.file is not None:
            self.file.write(chunk)
        elif self.file_name or not self.segment.filename:  # a dropped file's bytes are not held
            self.chunks.append(chunk)

    def end(self) -> None:
        segment, data = self.segment, b"".join(self.chunks)
        if not segment.filename:
            self.fields.appendlist(segment.name, data.decode(self.encoding, errors="replace"))
        elif self.file is not None:
            self.file.size = self.received
            self.file.seek(0)
            self.files.appendlist(segment.name, self.file)
            self.file = None
        elif self.file_name:
            upload = InMemoryUploadedFile(io.BytesIO(data), segment.name, self.file_name, segment.content_type or "",
                                          len(data), segment.charset)
            self.files.appendlist(segment.name, upload)
        self.chunks = []

    def _count_field_bytes(self, count: int) -> None:
        self.field_bytes += count
        if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None and self.field_bytes > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")

    def discard(self) -> None:
        """A refused form leaves no temporary file behind."""
        for upload in [self.file, *(f for _, files in self.files.lists() for f in files)]:
            if upload is not None:
                upload.close()

    def finish(self) -> tuple[QueryDict, MultiValueDict]:
        self.fields._mutable = False
        return self.fields, self.files


def _file_name(segment: multipart.MultipartSegment) -> str:
    """As Django does: only the last path component of the client's name ("" when none is
    left, and the part is then dropped). Stored names are generated; this is for logs only."""
    name = segment.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "" if name in (".", "..") else name
