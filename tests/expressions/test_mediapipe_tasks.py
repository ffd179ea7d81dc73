import shutil
import zipfile

import numpy as np
import pytest

from expressions.engines import mediapipe_tasks
from expressions.fetch import face_landmarker_path
from tests.expressions.onnx_builders import truncate, write_lfs_pointer


def fake_bundle(models, members=mediapipe_tasks.TASK_MEMBERS):
    path = mediapipe_tasks.task_path(models)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in members:
            zf.writestr(name, b"TFL3" + bytes(2048))
    return path


def test_absent_pointer_truncated_incomplete(tmp_path):
    assert "missing; run `python manage.py fetch_models`" in mediapipe_tasks.check(tmp_path).reason
    path = fake_bundle(tmp_path, members=["face_detector.tflite"])
    assert "lacks face_landmarks_detector.tflite" in mediapipe_tasks.check(tmp_path).reason
    path = fake_bundle(tmp_path)
    truncate(path)
    assert not mediapipe_tasks.check(tmp_path).available
    write_lfs_pointer(path)
    assert "Git LFS pointer" in mediapipe_tasks.check(tmp_path).reason


def test_well_formed_but_fake_bundle_fails_cleanly_at_load(tmp_path):
    fake_bundle(tmp_path)
    status = mediapipe_tasks.check(tmp_path)
    assert not status.available
    assert "failed to load in MediaPipe" in status.reason


REAL_TASK = face_landmarker_path(None)
needs_task = pytest.mark.skipif(not REAL_TASK.exists(), reason="models/mediapipe/face_landmarker.task absent; run `python manage.py fetch_models`")


@needs_task
def test_real_bundle_loads_and_reads_the_smile(tmp_path, astronaut_bgr):
    target = mediapipe_tasks.task_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL_TASK, target)
    status = mediapipe_tasks.check(tmp_path)
    assert status.available, status.reason
    out = mediapipe_tasks.estimate(astronaut_bgr, tmp_path)
    assert out.source == "face_landmarker.task"
    assert len(out.blendshapes) == mediapipe_tasks.BLENDSHAPE_COUNT and "_neutral" not in out.blendshapes
    assert "tongueOut" not in out.blendshapes and "cheekPuff" in out.blendshapes  # MediaPipe's set, not the geometric 23
    assert min(out.blendshapes["mouthSmileLeft"], out.blendshapes["mouthSmileRight"]) > 0.6  # she smiles
    assert out.blendshapes["mouthFrownLeft"] < 0.1
    assert 0.0 <= out.neutral <= 1.0  # the 52nd score, beside the ARKit keys


@needs_task
def test_no_face_is_none(tmp_path):
    target = mediapipe_tasks.task_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(REAL_TASK, target)
    assert mediapipe_tasks.estimate(np.full((240, 320, 3), 128, np.uint8), tmp_path) is None
