import shutil

import numpy as np
import pytest

from expressions.engines import mini_xception
from expressions.engines.common import EMOTIONS
from expressions.fetch import mini_xception_path
from generation.pipeline.face import detect_face
from tests.expressions.onnx_builders import truncate, write_lfs_pointer

REAL = mini_xception_path(None)
needs_weights = pytest.mark.skipif(not REAL.exists(), reason="models/mini_xception/emotion_model.hdf5 absent; `make test` runs fetch_models first")


@needs_weights
def test_astronaut_is_happy(astronaut_bgr):
    face = detect_face(astronaut_bgr)
    probs = mini_xception.emotion_probs(astronaut_bgr, face.bbox, REAL)
    assert list(probs) == list(EMOTIONS)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert max(probs, key=probs.get) == "happy" and probs["happy"] > 0.6


@pytest.mark.bench
@needs_weights
def test_latency_under_20ms():
    assert mini_xception.benchmark_mini_xception(n=20, path=REAL)["ms_per_face_median"] < 20.0


@needs_weights
def test_capability_truthful(tmp_path):
    assert "missing" in mini_xception.check(tmp_path).reason
    target = mini_xception_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL, target)
    assert mini_xception.check(tmp_path).available
    truncate(target)
    assert not mini_xception.check(tmp_path).available
    write_lfs_pointer(target)
    assert "Git LFS pointer" in mini_xception.check(tmp_path).reason


def test_crop_is_64_gray():
    img = np.zeros((200, 300, 3), np.uint8)
    assert mini_xception.face_crop_gray64(img, (100, 50, 180, 150)).shape == (64, 64)
