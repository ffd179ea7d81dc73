"""The PNG check reads an upload whole, whether Django kept it in memory or spooled it to disk."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from generation.services.uploads import image_check
from paksatalker_site.errors import UnsupportedMediaType
from tests.media_factory import write_astronaut


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> bytes:
    return write_astronaut(tmp_path_factory.mktemp("png") / "a.png").read_bytes()


def _spooled(data: bytes) -> TemporaryUploadedFile:
    upload = TemporaryUploadedFile("a.png", "image/png", len(data), None)
    upload.write(data)
    upload.seek(0)
    return upload


def _flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


@pytest.mark.parametrize("make_upload", [lambda data: SimpleUploadedFile("a.png", data), _spooled], ids=["in_memory", "on_disk"])
def test_a_whole_png_passes_and_a_broken_one_is_named(png, make_upload):
    checked = image_check(make_upload(png))
    assert (checked.extension, checked.width, checked.height) == ("png", 512, 512)
    with pytest.raises(UnsupportedMediaType, match="IDAT chunk fails its CRC"):
        image_check(make_upload(_flipped(png)))
    with pytest.raises(UnsupportedMediaType, match="ends before its IEND"):
        image_check(make_upload(png[:-12]))


def test_the_upload_is_left_readable_from_the_start(png):
    upload = SimpleUploadedFile("a.png", png)
    image_check(upload)
    assert upload.read() == png
    upload.close()  # a BytesIO whose buffer is still lent out refuses to close (BufferError)
