"""FieldLimitUploadHandler: Django's multipart parser stops a file at its field's limit."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.test import RequestFactory

from paksatalker_site.errors import PayloadTooLarge
from paksatalker_site.uploads import field_limit


def _form(field: str, file_bytes: bytes) -> tuple[bytes, str]:
    body = (b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nHello.\r\n'
            + f'--b\r\nContent-Disposition: form-data; name="{field}"; filename="a.bin"\r\n\r\n'.encode()
            + file_bytes + b"\r\n--b--\r\n")
    return body, "multipart/form-data; boundary=b"


def _request(field: str, file_bytes: bytes):
    """A POST whose body is read from ``raw``, so the test sees how far the parser read."""
    body, content_type = _form(field, file_bytes)
    raw = io.BytesIO(body)
    request = RequestFactory().generic("POST", "/api/v1/generate/video-from-prompt", data=body,
                                       content_type=content_type, **{"wsgi.input": raw})
    return request, raw


def test_a_file_over_its_limit_stops_the_upload_there(settings):
    settings.PAKSA_MAX_IMAGE_BYTES = 100_000
    request, raw = _request("image", b"q" * 1_000_000)
    with pytest.raises(PayloadTooLarge, match=r"^image: the file is larger than the limit of 98 KB\.$"):
        request.FILES  # noqa: B018 - parsing happens on first access
    assert raw.tell() < 300_000  # refused near the limit, not after the whole megabyte


def test_a_spooled_file_over_its_limit_leaves_no_temporary_file(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.PAKSA_MAX_AUDIO_BYTES = 3 << 20
    request, _ = _request("audio", b"a" * (4 << 20))  # over FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to disk
    with pytest.raises(PayloadTooLarge, match="audio: .* 3 MB"):
        request.POST  # noqa: B018
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size, kind", [(300_000, InMemoryUploadedFile), (3 << 20, TemporaryUploadedFile)])
def test_files_under_their_limit_reach_the_view_whole(settings, size, kind):
    settings.PAKSA_MAX_IMAGE_BYTES = 4 << 20
    data = bytes(range(256)) * (size // 256)
    request, _ = _request("image", data)
    upload = request.FILES["image"]
    assert isinstance(upload, kind) and upload.read() == data
    assert request.POST["prompt"] == "Hello."
    upload.close()


def test_fields_without_a_limit_of_their_own_get_the_request_limit(settings):
    settings.PAKSA_MAX_REQUEST_BYTES = 5000
    assert field_limit("somethingElse") == 5000
    request, _ = _request("somethingElse", b"x" * 6000)
    with pytest.raises(PayloadTooLarge, match="somethingElse"):
        request.FILES  # noqa: B018
