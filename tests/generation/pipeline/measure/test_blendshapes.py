"""FaceLandmarker read-back: blendshapes and landmarks per frame, emotion rise over neutral, rest expression."""

from __future__ import annotations

import math

import numpy as np
import pytest

from expressions.fetch import face_landmarker_path
from generation.pipeline import face as face_stage
from generation.pipeline.errors import EngineUnavailable, InvalidOption
from generation.pipeline.measure import blendshapes as bs
from tests.expressions.warps import neutralise_smile

MODEL = face_landmarker_path(None)
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="models/mediapipe/face_landmarker.task absent; run `python manage.py fetch_models`")


def test_group_scores_sum_their_parts():
    shapes = {"mouthFrownLeft": 0.2, "mouthFrownRight": 0.4, "browInnerUp": 0.5, "browDownLeft": 0.1}
    assert bs.emotion_score(shapes, "sad") == pytest.approx(0.3 + 0.5)  # mean of the pair, plus the inner brow
    assert bs.emotion_score(shapes, "angry") == pytest.approx(0.05)  # browDownRight absent counts as 0
    surprised = {"browOuterUpLeft": 0.3, "browOuterUpRight": 0.3, "browInnerUp": 0.6, "eyeWideLeft": 0.2, "eyeWideRight": 0.4}
    assert bs.emotion_score(surprised, "surprised") == pytest.approx(0.4 + 0.3)
    with pytest.raises(InvalidOption, match="valid values: happy, sad, angry, surprised"):
        bs.emotion_score(shapes, "disgust")


def test_rise_is_the_difference_of_means_over_frames_with_a_face():
    neutral = [{"mouthSmileLeft": 0.1, "mouthSmileRight": 0.1}, {}, {"mouthSmileLeft": 0.3, "mouthSmileRight": 0.3}]
    happy = [{"mouthSmileLeft": 0.6, "mouthSmileRight": 0.8}, {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5}]
    assert bs.emotion_rise(neutral, happy, "happy") == pytest.approx(0.6 - 0.2)
    assert bs.emotion_rise(neutral, happy, "angry") == pytest.approx(0.0)
    assert math.isnan(bs.emotion_rise([{}, {}], happy, "happy"))
    with pytest.raises(InvalidOption):
        bs.emotion_rise(neutral, happy, "bored")


def test_missing_model_is_unavailable_and_rest_expression_none(tmp_path, astronaut_bgr):
    missing = tmp_path / "mediapipe" / "face_landmarker.task"
    with pytest.raises(EngineUnavailable, match="fetch_models") as info:
        bs.read_blendshapes([astronaut_bgr], missing)
    assert str(tmp_path) not in info.value.detail  # no server path in a message
    assert bs.rest_expression(astronaut_bgr, missing) is None
    fake = tmp_path / "fake.task"
    fake.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: not a bundle
    with pytest.raises(EngineUnavailable, match="failed to load in MediaPipe"):
        bs.read_blendshapes([astronaut_bgr], fake)


@pytest.fixture(scope="module")
def neutral_bgr(astronaut_bgr):
    """The astronaut with her smile pulled flat (a test-made neutral face)."""
    face = face_stage.detect_face(astronaut_bgr)
    return neutralise_smile(astronaut_bgr, face.landmarks, face_stage.inter_ocular_distance(face.landmarks))


@needs_model
def test_image_mode_reads_52_scores_and_the_mesh(astronaut_bgr):
    (reading,) = bs.read_faces([astronaut_bgr], MODEL, mode="image")
    assert len(reading.blendshapes) == 52 and bs.NEUTRAL_CATEGORY in reading.blendshapes
    assert reading.landmarks.shape == (478, 3) and reading.matrix.shape == (4, 4)
    mesh = face_stage.detect_face(astronaut_bgr).landmarks
    iod = face_stage.inter_ocular_distance(mesh)
    drift = np.linalg.norm(reading.landmarks[:468, :2] - mesh[:468, :2], axis=1)
    assert np.median(drift) < 0.05 * iod  # frame pixels, the same points the face stage finds


@needs_model
def test_smile_rises_over_a_neutral_face_in_both_modes(astronaut_bgr, neutral_bgr):
    neutral_clip, smiling_clip = [neutral_bgr] * 3, [astronaut_bgr] * 3
    for mode in bs.MODES:
        neutral = bs.read_blendshapes(neutral_clip, MODEL, mode=mode)
        smiling = bs.read_blendshapes(smiling_clip, MODEL, mode=mode)
        assert len(neutral) == len(smiling) == 3 and all(neutral) and all(smiling)
        assert bs.emotion_rise(neutral, smiling, "happy") > 0.3, mode
        assert abs(bs.emotion_rise(neutral, smiling, "angry")) < 0.1, mode


@needs_model
def test_video_mode_marks_frames_without_a_face(astronaut_bgr):
    blank = np.full_like(astronaut_bgr, 90)
    shapes = bs.read_blendshapes([astronaut_bgr, blank, astronaut_bgr], MODEL, mode="video", fps=25)
    assert [bool(s) for s in shapes] == [True, False, True]
    with pytest.raises(InvalidOption, match="valid values: image, video"):
        bs.read_blendshapes([astronaut_bgr], MODEL, mode="stream")


@needs_model
def test_rest_expression_of_a_smiling_photo(astronaut_bgr, neutral_bgr):
    smiling = bs.rest_expression(astronaut_bgr, MODEL)
    neutral = bs.rest_expression(neutral_bgr, MODEL)
    assert smiling["mouthSmileLeft"] > 0.6 and smiling["mouthSmileRight"] > 0.6
    assert bs.emotion_score(neutral, "happy") < bs.emotion_score(smiling, "happy") - 0.3
    assert bs.rest_expression(np.full((240, 320, 3), 128, np.uint8), MODEL) is None
