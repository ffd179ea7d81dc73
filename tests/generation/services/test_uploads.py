"""image_check: Pillow reads the header, verify() proves a PNG whole, other formats are decoded."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from PIL import Image

from generation.services.uploads import image_check
from paksatalker_site.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
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


def _encoded(png: bytes, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("make_upload", [lambda data: SimpleUploadedFile("a.png", data), _spooled], ids=["in_memory", "on_disk"])
def test_a_whole_png_passes_and_a_broken_one_is_named(png, make_upload):
    checked = image_check(make_upload(png))
    assert (checked.extension, checked.width, checked.height) == ("png", 512, 512)
    with pytest.raises(UnsupportedMediaType, match=r"image: the image is damaged or incomplete \(.*IDAT"):
        image_check(make_upload(_flipped(png)))
    with pytest.raises(UnsupportedMediaType, match="damaged or incomplete"):
        image_check(make_upload(png[:-12]))  # cut before IEND


@pytest.mark.parametrize("fmt, extension", [("JPEG", "jpg"), ("WEBP", "webp"), ("BMP", "bmp")])
def test_other_formats_are_decoded_and_a_truncated_one_is_refused(png, fmt, extension):
    data = _encoded(png, fmt)
    assert image_check(SimpleUploadedFile("x", data)).extension == extension
    with pytest.raises(UnsupportedMediaType, match="damaged or incomplete"):
        image_check(SimpleUploadedFile("x", data[: len(data) * 2 // 3]))


def test_the_pixel_limit_is_read_from_the_header(settings, png):
    settings.PAKSA_MAX_IMAGE_PIXELS = 250_000
    with pytest.raises(PayloadTooLarge, match="512x512 pixels; the limit is 0.25 megapixels"):
        image_check(SimpleUploadedFile("a.png", png))


def test_not_an_image_and_too_small(png):
    with pytest.raises(UnsupportedMediaType, match="not an image"):
        image_check(SimpleUploadedFile("a.png", b"plain text, not a picture\n" * 30))
    buffer = io.BytesIO()
    Image.new("RGB", (20, 40)).save(buffer, "PNG")
    with pytest.raises(ValidationFailed, match="20x40"):
        image_check(SimpleUploadedFile("a.png", buffer.getvalue()))


def test_the_upload_is_left_readable_from_the_start(png):
    upload = SimpleUploadedFile("a.png", png)
    image_check(upload)
    assert upload.read() == png
