import zipfile

from expressions.engines import mediapipe_tasks
from tests.expressions.onnx_builders import truncate, write_lfs_pointer


def fake_bundle(models, members=mediapipe_tasks.TASK_MEMBERS):
    path = mediapipe_tasks.task_path(models)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in members:
            zf.writestr(name, b"TFL3" + bytes(2048))
    return path


def test_absent_pointer_truncated_incomplete(tmp_path):
    assert "missing" in mediapipe_tasks.check(tmp_path).reason
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
