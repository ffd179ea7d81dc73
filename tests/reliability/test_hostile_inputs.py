"""Hostile input: each case gets its 4xx JSON error, stores nothing, and the next
valid request still works.

Polyglots (a valid PNG with HTML appended, a GIF with a ZIP appended: a GIFAR)
ARE valid images, so they are accepted as images: they are stored under a
generated name (inputs/<job>/image.png), never under the client's name or type,
and inputs are never served back: /download serves only the MP4 and captions a
job produced, which ffmpeg encodes anew. Nothing the client appended can reach
another client.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.models import GenerationJob
from tests.reliability.helpers import assert_error, stored_files

pytestmark = pytest.mark.django_db

FUSION = "/api/v1/generate/fusion-video"
PROMPT = "/api/v1/generate/video-from-prompt"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 20000) -> bytes:
    """A valid side x side one-colour PNG, a few tens of KB on disk (1-bit greyscale)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    block = row * 1000
    parts = [compressor.compress(block) for _ in range(side // 1000)]
    parts.append(compressor.compress(row * (side % 1000)))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def tone(seconds: float, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return wav_bytes((8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16), rate)


def image_bytes(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 150, 120)).save(buffer, fmt)
    return buffer.getvalue()


def _jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def _flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _file(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _multipart_raw_text(text_bytes: bytes, image: bytes) -> tuple[bytes, str]:
    """A multipart body whose text field holds raw bytes that are not UTF-8."""
    boundary = "hostileboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n".encode() + text_bytes + b"\r\n"
        + f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
          f"Content-Type: image/png\r\n\r\n".encode() + image + b"\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# (case id, builder(astronaut_png_bytes, speech_wav_bytes) -> form data, status, words in detail)
CASES = [
    ("truncated_png", lambda png, wav: {"image": _file("a.png", png[: len(png) // 2]), "audio": _file("s.wav", wav)}, 415, ["image", "damaged or incomplete", "truncated"]),
    ("png_cut_before_iend", lambda png, wav: {"image": _file("a.png", png[:-12]), "audio": _file("s.wav", wav)}, 415, ["image", "damaged or incomplete"]),
    ("png_with_a_corrupt_chunk", lambda png, wav: {"image": _file("a.png", _flip_byte(png, len(png) // 2)), "audio": _file("s.wav", wav)}, 415, ["image", "damaged or incomplete", "IDAT"]),
    ("truncated_jpeg", lambda png, wav: {"image": _file("a.jpg", _jpeg(png)[:-2000]), "audio": _file("s.wav", wav)}, 415, ["image", "damaged or incomplete"]),
    ("one_pixel_image", lambda png, wav: {"image": _file("a.png", image_bytes((1, 1))), "audio": _file("s.wav", wav)}, 422, ["image", "1x1"]),
    ("png_bomb_20000x20000", lambda png, wav: {"image": _file("a.png", png_bomb()), "audio": _file("s.wav", wav)}, 413, ["image", "pixels"]),
    ("silent_audio", lambda png, wav: {"image": _file("a.png", png), "audio": _file("s.wav", wav_bytes(np.zeros(32000, np.int16)))}, 422, ["audio", "silent"]),
    ("clip_of_0.1s", lambda png, wav: {"image": _file("a.png", png), "audio": _file("s.wav", tone(0.1))}, 422, ["audio", "0.10 s"]),
    ("fake_mp3_header", lambda png, wav: {"image": _file("a.png", png), "audio": _file("s.mp3", b"\xff\xfb\x90\x64" + b"\x00\x11" * 3000, "audio/mpeg")}, 415, ["audio"]),
    ("id3_then_garbage", lambda png, wav: {"image": _file("a.png", png), "audio": _file("s.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"junk" * 2000, "audio/mpeg")}, 415, ["audio"]),
    ("zero_byte_image", lambda png, wav: {"image": _file("a.png", b""), "audio": _file("s.wav", wav)}, 400, ["image", "empty"]),
    ("zero_byte_audio", lambda png, wav: {"image": _file("a.png", png), "audio": _file("s.wav", b"")}, 400, ["audio", "empty"]),
    ("text_file_as_image", lambda png, wav: {"image": _file("a.png", b"hello, I am not a picture\n" * 40, "image/png"), "audio": _file("s.wav", wav)}, 415, ["image"]),
    ("html_as_image", lambda png, wav: {"image": _file("a.png", b"<html><script>alert(1)</script></html>" * 20, "image/png"), "text": "Hi."}, 415, ["image"]),
    ("audio_as_background", lambda png, wav: {"image": _file("a.png", png), "text": "Hi.", "backgroundMode": "image", "backgroundImage": _file("b.png", wav)}, 415, ["backgroundImage"]),
]


@pytest.fixture(scope="module")
def inputs(astronaut_path: Path, short_speech_wav: Path) -> tuple[bytes, bytes]:
    return astronaut_path.read_bytes(), short_speech_wav.read_bytes()


def _valid_request_works(client, png: bytes, wav: bytes) -> None:
    response = client.post(FUSION, {"image": _file("a.png", png), "audio": _file("s.wav", wav), "resolution": "480p"})
    assert response.status_code == 200, response.content
    assert GenerationJob.objects.filter(id=response.json()["task_id"]).exists()


@pytest.mark.parametrize("case, build, status, words", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused(client, settings, queued_only, inputs, case, build, status, words):
    png, wav = inputs
    assert_error(client.post(FUSION, build(png, wav)), status, *words)
    assert GenerationJob.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []
    _valid_request_works(client, png, wav)


def test_non_utf8_text_is_refused(client, settings, queued_only, inputs):
    png, _ = inputs
    body, content_type = _multipart_raw_text("Grüße aus Köln".encode("latin-1") + b"\xff\xfe\x80", png)
    assert_error(client.generic("POST", FUSION, body, content_type=content_type), 422, "text")
    assert GenerationJob.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []


# Bodies Django's multipart parser refuses: (case id, body, Content-Type, status, words in detail).
BROKEN_FORMS = [
    ("multipart_without_a_boundary", b"--x\r\n\r\nhi\r\n--x--\r\n", "multipart/form-data", 400, ["multipart", "boundary"]),
    ("text_fields_over_2_mb", b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n" + b"a" * (3 << 20)
     + b"\r\n--b--\r\n", "multipart/form-data; boundary=b", 413, ["text fields", "2 MB"]),
    ("a_header_block_that_never_ends", b"--b\r\nContent-Disposition: form-data; name=\"prompt\"" + b"x" * 2000,
     "multipart/form-data; boundary=b", 400, ["multipart"]),
]


@pytest.mark.parametrize("case, body, content_type, status, words", BROKEN_FORMS, ids=[c[0] for c in BROKEN_FORMS])
def test_a_form_the_parser_refuses_is_a_4xx(client, settings, queued_only, case, body, content_type, status, words):
    assert_error(client.generic("POST", PROMPT, body, content_type=content_type), status, *words)
    assert GenerationJob.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []


# Framing Django's parser reads leniently (RFC 2046 lets a parser skip a preamble and what
# follows the close delimiter): never a 5xx, and only the field that was sent gets through.
LENIENT_FORMS = [
    ("bytes_before_the_first_boundary", b"junk--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nHi.\r\n--b--\r\n"),
    ("a_boundary_followed_by_other_bytes", b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nHi.\r\n--bjunk\r\n"),
]


@pytest.mark.parametrize("case, body", LENIENT_FORMS, ids=[c[0] for c in LENIENT_FORMS])
def test_leniently_framed_forms_carry_only_their_field(client, settings, queued_only, case, body):
    response = client.generic("POST", PROMPT, body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.content
    if response.status_code == 200:
        assert GenerationJob.objects.get(id=response.json()["task_id"]).text == "Hi."
    else:
        assert_error(response, response.status_code)
        assert GenerationJob.objects.count() == 0


def test_non_utf8_prompt_never_crashes(client, settings, queued_only):
    """Whatever the decision on U+FFFD, raw bytes never cause a 5xx."""
    boundary = "b0"
    body = f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n".encode() + b"\xc3\x28\xa0\xa1\xff" + f"\r\n--{boundary}--\r\n".encode()
    response = client.generic("POST", PROMPT, body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code < 500, response.content


@pytest.mark.parametrize("name, data_builder", [
    ("png_with_html", lambda png: png + b"<html><body><script>alert(document.cookie)</script></body></html>"),
    ("gifar", lambda png: image_bytes((64, 64), "GIF") + _zip_bytes()),
])
def test_polyglot_image_is_stored_under_a_generated_name_and_never_served(client, settings, queued_only, inputs, name, data_builder):
    png, wav = inputs
    data = data_builder(png)
    evil = SimpleUploadedFile("evil.html", data, content_type="text/html")
    response = client.post(FUSION, {"image": evil, "audio": _file("s.wav", wav)})
    assert response.status_code == 200, response.content
    job = GenerationJob.objects.get(id=response.json()["task_id"])
    assert job.image.name == f"inputs/{job.id}/image.{'gif' if name == 'gifar' else 'png'}"
    assert [p.name for p in stored_files(settings.MEDIA_ROOT) if p.parent.name == str(job.id)].count(Path(job.image.name).name) == 1
    for path in (f"{job.id}.mp4", "image.png", f"{job.id}.html", f"inputs/{job.id}/image.png", f"..%2Finputs%2F{job.id}%2Fimage.png"):
        assert_error(client.get(f"/api/v1/download/{path}"), 404)
    assert client.get(f"/media/inputs/{job.id}/image.png").status_code == 404


def _zip_bytes() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n")
    return buffer.getvalue()


def test_oversized_field_is_stopped_while_streaming(client, settings, queued_only, inputs):
    """The upload handler refuses the field before the rest of the body is stored."""
    png, wav = inputs
    settings.PAKSA_MAX_AUDIO_BYTES = 64 * 1024
    big = _file("s.wav", wav + b"\x00" * (256 * 1024))
    assert_error(client.post(FUSION, {"image": _file("a.png", png), "audio": big}), 413, "audio", "64 KB")
    settings.PAKSA_MAX_BACKGROUND_BYTES = 1024
    assert_error(client.post(FUSION, {"image": _file("a.png", png), "text": "Hi.", "backgroundMode": "image",
                                      "backgroundImage": _file("b.png", png)}), 413, "backgroundImage")
    assert GenerationJob.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []
