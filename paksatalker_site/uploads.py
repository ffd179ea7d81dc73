"""Per-field upload limits, enforced while the multipart body streams in.

Registered first in FILE_UPLOAD_HANDLERS: it sees every chunk before the memory
or temporary-file handlers store it, and raises PayloadTooLarge (413, naming the
field) as soon as a file field passes its limit, so an oversized upload is
never buffered whole, in memory or on disk.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from paksatalker_site.errors import PayloadTooLarge

logger = logging.getLogger(__name__)

# Form field name -> settings attribute holding its byte limit.
FIELD_LIMIT_SETTINGS = {
    "image": "PAKSA_MAX_IMAGE_BYTES",
    "audio": "PAKSA_MAX_AUDIO_BYTES",
    "backgroundImage": "PAKSA_MAX_BACKGROUND_BYTES",
}


def field_limit(field_name: str) -> int:
    """Byte limit of a file field; fields without their own limit get the whole-request limit."""
    attr = FIELD_LIMIT_SETTINGS.get(field_name)
    return int(getattr(settings, attr)) if attr else int(settings.PAKSA_MAX_REQUEST_BYTES)


def smallest_field_limit() -> int:
    """No file in a body of at most this many bytes can pass its field's limit."""
    return min(field_limit(name) for name in (*FIELD_LIMIT_SETTINGS, ""))


def human_bytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.0f} KB"
    return f"{size} bytes"


class FieldSizeLimitUploadHandler(FileUploadHandler):
    """Counts the bytes of each file field and stops the upload past its limit."""

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.limit = field_limit(field_name)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            logger.info("upload field %s passed its limit of %s bytes", self.field_name, self.limit)
            raise PayloadTooLarge(
                f"{self.field_name}: the file is larger than the limit of {human_bytes(self.limit)}."
            )
        return raw_data  # the next handler stores it

    def file_complete(self, file_size):
        return None  # storing is the memory / temporary-file handlers' job
