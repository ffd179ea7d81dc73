"""Forms are parsed strictly, whole or as they arrive, into what Django's own parser builds."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.test import override_settings

from paksatalker_site.errors import PayloadTooLarge
from paksatalker_site.form_parser import READ_CHUNK, form_parse, form_parse_stream

CONTENT_TYPE = "multipart/form-data; boundary=XyZ"


def _part(name: str, value: bytes, *, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"--XyZ\r\nContent-Disposition: {disposition}\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "")
    return head.encode() + b"\r\n" + value + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--XyZ--\r\n"


def _django_parse(body: bytes):
    meta = {"CONTENT_TYPE": CONTENT_TYPE, "CONTENT_LENGTH": str(len(body))}
    return MultiPartParser(meta, io.BytesIO(body), [MemoryFileUploadHandler()], "utf-8").parse()


def _files_view(files):
    return {name: [(f.name, f.content_type, f.size, f.read()) for f in files.getlist(name)] for name in files}


def test_fields_and_files_come_out_as_djangos_parser_gives_them():
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + b"\r\n--XyY\r\n--Xy\r\n-"  # near misses of the delimiter
    body = _body(
        _part("prompt", "Grüß Gott, café.".encode()),
        _part("tag", b"one"),
        _part("tag", b"two"),
        _part("text", b"bad \xff\xfe bytes"),
        _part("image", photo, filename="C:\\Users\\me\\face.png", content_type="image/png"),
        _part("notes", b"plain", filename="dir/notes.txt", content_type="text/plain; charset=latin-1"),
        _part("audio", b"", filename=""),  # a file input left empty: a text field, as in Django
        _part("extra", b"x", filename="../"),  # no name left once the path is dropped: no file
    )
    fields, files = form_parse(body, CONTENT_TYPE)
    django_fields, django_files = _django_parse(body)
    assert dict(fields.lists()) == dict(django_fields.lists())
    assert fields["text"] == "bad \ufffd\ufffd bytes"
    assert not fields._mutable
    assert _files_view(files) == _files_view(django_files)
    assert files["image"].name == "face.png" and files["image"].read() == b""  # already read above; it is a real file
    files["image"].seek(0)
    assert files["image"].read() == photo
    assert files["notes"].charset == "latin-1"  # Django's parser gives b"latin-1" here
    assert "audio" not in files and fields["audio"] == ""
    assert "extra" not in files and "extra" not in fields


@pytest.mark.parametrize(("body", "wording"), [
    (_part("prompt", b"cut short"), "end of multipart stream"),
    (b"junk before" + _body(_part("prompt", b"x")), "in front of first boundary"),
    (b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n", "Content-Disposition"),
    (b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--\r\n", "Content-Disposition"),
    (b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZjunk", "after boundary"),
    (b"no multipart here at all, and long enough to hold a boundary", "Boundary not found"),
])
def test_a_broken_body_is_refused_with_the_reason(body, wording):
    with pytest.raises(MultiPartParserError, match=wording):
        form_parse(body, CONTENT_TYPE)


def test_a_content_type_without_a_boundary_is_refused():
    with pytest.raises(MultiPartParserError, match="no boundary"):
        form_parse(_body(_part("a", b"x")), "multipart/form-data")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3)
def test_the_field_count_limit_holds():
    form_parse(_body(*(_part(f"f{n}", b"x") for n in range(3))), CONTENT_TYPE)
    with pytest.raises(TooManyFieldsSent):
        form_parse(_body(*(_part(f"f{n}", b"x") for n in range(4))), CONTENT_TYPE)


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=2)
def test_the_file_count_limit_holds():
    form_parse(_body(*(_part("f", b"x", filename=f"{n}.bin") for n in range(2))), CONTENT_TYPE)
    with pytest.raises(TooManyFilesSent):
        form_parse(_body(*(_part("f", b"x", filename=f"{n}.bin") for n in range(3))), CONTENT_TYPE)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_the_text_field_size_limit_holds_and_files_do_not_count():
    form_parse(_body(_part("a", b"x" * 90), _part("image", b"y" * 1000, filename="a.png")), CONTENT_TYPE)
    with pytest.raises(RequestDataTooBig):
        form_parse(_body(_part("a", b"x" * 60), _part("b", b"x" * 60)), CONTENT_TYPE)


class CountingStream(io.BytesIO):
    def read(self, size=-1, /):
        chunk = super().read(size)
        self.taken = getattr(self, "taken", 0) + len(chunk)
        return chunk


def _stream_parse(body: bytes, declared: int | None = None):
    stream = CountingStream(body)
    return form_parse_stream(stream, len(body) if declared is None else declared, CONTENT_TYPE), stream


def test_a_form_parsed_as_it_arrives_gives_the_same_fields_and_files_on_disk(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    photo = bytes(range(256)) * 4000 + b"\r\n--XyY"  # 1 MB: several reads
    body = _body(_part("prompt", b"Hello."), _part("image", photo, filename="face.png", content_type="image/png"),
                 _part("audio", b"", filename=""))
    (fields, files), stream = _stream_parse(body)
    assert dict(fields.lists()) == dict(form_parse(body, CONTENT_TYPE)[0].lists())
    image = files["image"]
    assert isinstance(image, TemporaryUploadedFile) and image.temporary_file_path().startswith(str(tmp_path))
    assert (image.name, image.content_type, image.size, image.read()) == ("face.png", "image/png", len(photo), photo)
    assert stream.taken == len(body)
    image.close()
    assert list(tmp_path.iterdir()) == []  # closed with the request: the temporary file goes too


@override_settings(PAKSA_MAX_IMAGE_BYTES=100_000)
def test_a_file_over_its_limit_stops_the_upload_there_and_leaves_nothing(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    body = _body(_part("avatar", b"x" * 50_000, filename="a.bin"), _part("image", b"q" * 3_000_000, filename="a.png"))
    with pytest.raises(PayloadTooLarge, match="image: the file is larger than the limit of 98 KB"):
        _stream_parse(body)
    stream = CountingStream(body)
    with pytest.raises(PayloadTooLarge):
        form_parse_stream(stream, len(body), CONTENT_TYPE)
    assert stream.taken <= 150_000 + READ_CHUNK  # refused near the limit, not after 3 MB
    assert list(tmp_path.iterdir()) == []  # the file already received is removed too


def test_a_body_shorter_than_declared_is_refused():
    body = _body(_part("prompt", b"x" * 1000))
    with pytest.raises(MultiPartParserError, match="end of multipart stream"):
        _stream_parse(body[:500], declared=len(body))


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_text_fields_over_their_limit_stop_the_upload_there():
    body = _body(_part("prompt", b"a" * 3_000_000))
    stream = CountingStream(body)
    with pytest.raises(RequestDataTooBig):
        form_parse_stream(stream, len(body), CONTENT_TYPE)
    assert stream.taken <= READ_CHUNK


def test_a_dropped_file_part_is_not_held_in_memory_while_it_streams():
    import tracemalloc

    body = _body(_part("junk", b"z" * 8_000_000, filename="../"), _part("prompt", b"Hi."))
    tracemalloc.start()
    try:
        (fields, files), _ = _stream_parse(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fields.dict() == {"prompt": "Hi."} and not files
    assert peak < 2_000_000  # read in 256 KB pieces and let go, not gathered into 8 MB
