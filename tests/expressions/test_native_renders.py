"""Expression estimates on frames the native engine renders: the estimators see what it drew."""

from __future__ import annotations

import pytest

from expressions.engines.mediapipe_geometry import blendshapes_from_mesh
from expressions.fetch import face_landmarker_path
from expressions.services import expression_estimate
from generation.pipeline import face as face_stage
from generation.pipeline.engines.native.animate import FaceAnimator
from generation.pipeline.measure import blendshapes as landmarker
from generation.pipeline.types import MouthParams

TASK = face_landmarker_path(None)
needs_task = pytest.mark.skipif(not TASK.exists(), reason="models/mediapipe/face_landmarker.task absent; run `python manage.py fetch_models`")


@pytest.fixture(scope="module")
def animator(astronaut_bgr):
    face = face_stage.detect_face(astronaut_bgr)
    geometry = face_stage.output_geometry(face, (astronaut_bgr.shape[1], astronaut_bgr.shape[0]), "full", "720p")
    base = face_stage.crop_to_geometry(astronaut_bgr, geometry)
    return FaceAnimator(base, face_stage.transform_face(face, geometry), seed=1, fps=25, life=False)


@pytest.fixture(scope="module")
def closed_and_vowel(animator):
    return animator.render(MouthParams(lip_press=1.0), 0), animator.render(MouthParams(jaw_open=0.9, teeth=0.6), 0)


def test_mesh_geometry_sees_the_jaw_open_on_a_vowel_frame(closed_and_vowel):
    closed, vowel = (blendshapes_from_mesh(face_stage.detect_face(f).landmarks)["jawOpen"] for f in closed_and_vowel)
    assert vowel > closed + 0.2, (closed, vowel)


@needs_task
def test_face_landmarker_sees_the_lips_part_on_a_vowel_frame(closed_and_vowel):
    closed, vowel = (landmarker.rest_expression(f, TASK) for f in closed_and_vowel)

    def parted(shapes):
        return (shapes["mouthLowerDownLeft"] + shapes["mouthLowerDownRight"] + shapes["mouthUpperUpLeft"] + shapes["mouthUpperUpRight"]) / 4

    assert parted(vowel) > parted(closed) + 0.3, (parted(closed), parted(vowel))
    assert vowel["jawOpen"] > closed["jawOpen"], (closed["jawOpen"], vowel["jawOpen"])


def test_smile_survives_animation_at_rest(animator, astronaut_bgr):
    """A photo that already smiles keeps smiling when the engine renders its rest pose."""
    source = expression_estimate(image_bgr=astronaut_bgr, engine="mediapipe")["result"]["blendshapes"]
    rest = expression_estimate(image_bgr=animator.render(MouthParams(), 0), engine="mediapipe")["result"]["blendshapes"]
    assert rest["mouthSmileLeft"] > 0.5 * source["mouthSmileLeft"]
