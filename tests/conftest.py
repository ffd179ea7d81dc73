from __future__ import annotations

from pathlib import Path

import pytest

from tests import media_factory


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def astronaut_path(media_dir) -> Path:
    return media_factory.write_astronaut(media_dir / "astronaut.png")


@pytest.fixture(scope="session")
def astronaut_bgr():
    return media_factory.astronaut_bgr()


@pytest.fixture(scope="session")
def speech_wav(media_dir) -> Path:
    """About 6 s of espeak-ng English speech, several sentences."""
    return media_factory.espeak_wav(media_dir / "speech.wav")


@pytest.fixture(scope="session")
def short_speech_wav(media_dir) -> Path:
    return media_factory.espeak_wav(media_dir / "short.wav", "Hello world.")


@pytest.fixture(scope="session")
def faceless_path(media_dir) -> Path:
    return media_factory.faceless_image(media_dir / "noface.png")


@pytest.fixture(autouse=True)
def _isolated_storage(request, tmp_path):
    """Django tests write media and work files under a temporary directory, and run
    Huey tasks inline. Django-free runs (-p no:django) skip this."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WORK_DIR = tmp_path / "work"
    from django.core.cache import cache
    from huey.contrib.djhuey import HUEY

    cache.clear()  # rate-limit windows must not leak from one test into the next
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous
