"""Per-field upload limits, enforced while Django's own multipart parser streams a form in.

``FieldLimitUploadHandler`` is first in settings.FILE_UPLOAD_HANDLERS: it counts each file
field's bytes as they arrive and passes them on to Django's memory and temporary-file
handlers. As soon as a file passes its field's limit the upload stops with a 413 that names
the field, so an oversized file is never held whole in memory or on disk.
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


def human_bytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.0f} KB"
    return f"{size} bytes"


class FieldLimitUploadHandler(FileUploadHandler):
    """Raises PayloadTooLarge (413) once a file passes its field's limit; stores nothing itself."""

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.limit = field_limit(field_name)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            logger.info("upload field %s passed its limit of %s bytes", self.field_name, self.limit)
            # The handlers after this one may hold a partial file: let them drop it now.
            for handler in getattr(self.request, "upload_handlers", ()):
                if handler is not self:
                    handler.upload_interrupted()
            raise PayloadTooLarge(f"{self.field_name}: the file is larger than the limit of {human_bytes(self.limit)}.")
        return raw_data  # on to Django's memory or temporary-file handler

    def file_complete(self, file_size):
        return None  # the next handler builds the uploaded file
