import cv2
import pytest

from expressions.engines.mediapipe_geometry import (
    BLENDSHAPE_KEYS,
    IBUG68_SCHEME,
    blendshapes_from_mesh,
    blendshapes_from_points,
    head_pose_from_mesh,
)
from generation.pipeline.face import detect_face, inter_ocular_distance
from tests.expressions.faces68 import JAW_POINTS, neutral68
from tests.expressions.warps import neutralise_smile, open_jaw


@pytest.fixture(scope="module")
def astronaut_face(astronaut_bgr):
    return detect_face(astronaut_bgr)


def test_all_keys_in_unit_range(astronaut_face):
    bs = blendshapes_from_mesh(astronaut_face.landmarks)
    assert set(bs) == set(BLENDSHAPE_KEYS)
    assert all(0.0 <= v <= 1.0 for v in bs.values())


def test_smile_higher_than_on_warped_neutral_mouth(astronaut_bgr, astronaut_face):
    neutral = neutralise_smile(astronaut_bgr, astronaut_face.landmarks, inter_ocular_distance(astronaut_face.landmarks))
    smiling = blendshapes_from_mesh(astronaut_face.landmarks)
    flat = blendshapes_from_mesh(detect_face(neutral).landmarks)
    for side in ("Left", "Right"):
        assert smiling[f"mouthSmile{side}"] > 0.5
        assert smiling[f"mouthSmile{side}"] > flat[f"mouthSmile{side}"] + 0.3


def test_jaw_open_higher_on_warped_open_mouth(astronaut_bgr, astronaut_face):
    opened = open_jaw(astronaut_bgr, astronaut_face.landmarks, inter_ocular_distance(astronaut_face.landmarks))
    before = blendshapes_from_mesh(astronaut_face.landmarks)["jawOpen"]
    after = blendshapes_from_mesh(detect_face(opened).landmarks)["jawOpen"]
    assert after > before + 0.2


def test_roll_tracks_image_rotation_and_blendshapes_do_not(astronaut_bgr, astronaut_face):
    h, w = astronaut_bgr.shape[:2]
    rotated = cv2.warpAffine(astronaut_bgr, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h))
    face = detect_face(rotated)
    roll0 = head_pose_from_mesh(astronaut_face.landmarks)["roll"]
    roll1 = head_pose_from_mesh(face.landmarks)["roll"]
    assert roll0 - roll1 == pytest.approx(20, abs=3)  # counter-clockwise image rotation lowers roll
    assert blendshapes_from_mesh(face.landmarks)["jawOpen"] == pytest.approx(blendshapes_from_mesh(astronaut_face.landmarks)["jawOpen"], abs=0.08)


def test_ibug68_neutral_reads_near_zero_and_open_jaw_reads_open():
    pts = neutral68() * 60 + [200, 150]
    neutral = blendshapes_from_points(pts, IBUG68_SCHEME)
    assert max(neutral.values()) < 0.15, neutral
    opened = pts.copy()
    opened[JAW_POINTS, 1] += 0.4 * 60
    assert blendshapes_from_points(opened, IBUG68_SCHEME)["jawOpen"] > 0.5
    closed_eye = pts.copy()
    closed_eye[[37, 38], 1] += 0.07 * 60
    closed_eye[[40, 41], 1] -= 0.07 * 60
    bs = blendshapes_from_points(closed_eye, IBUG68_SCHEME)
    assert bs["eyeBlinkRight"] > 0.8 and bs["eyeBlinkLeft"] == 0.0
