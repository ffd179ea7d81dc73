"""Expression estimates on frames the native engine renders: the estimator sees what it drew."""

from __future__ import annotations

import pytest

from expressions.services import expression_estimate
from generation.pipeline import face as face_stage
from generation.pipeline.engines.native.animate import FaceAnimator
from generation.pipeline.types import MouthParams


@pytest.fixture(scope="module")
def animator(astronaut_bgr):
    face = face_stage.detect_face(astronaut_bgr)
    geometry = face_stage.output_geometry(face, (astronaut_bgr.shape[1], astronaut_bgr.shape[0]), "full", "720p")
    base = face_stage.crop_to_geometry(astronaut_bgr, geometry)
    return FaceAnimator(base, face_stage.transform_face(face, geometry), seed=1, fps=25, life=False)


def test_jaw_open_rises_on_a_mid_vowel_frame(animator):
    closed = expression_estimate(image_bgr=animator.render(MouthParams(lip_press=1.0), 0), engine="mediapipe")
    vowel = expression_estimate(image_bgr=animator.render(MouthParams(jaw_open=0.9, teeth=0.6), 0), engine="mediapipe")
    closed_jaw = closed["result"]["blendshapes"]["jawOpen"]
    vowel_jaw = vowel["result"]["blendshapes"]["jawOpen"]
    assert vowel_jaw > closed_jaw + 0.2, (closed_jaw, vowel_jaw)


def test_smile_survives_animation_at_rest(animator, astronaut_bgr):
    """A photo that already smiles keeps smiling when the engine renders its rest pose."""
    source = expression_estimate(image_bgr=astronaut_bgr, engine="mediapipe")["result"]["blendshapes"]
    rest = expression_estimate(image_bgr=animator.render(MouthParams(), 0), engine="mediapipe")["result"]["blendshapes"]
    assert rest["mouthSmileLeft"] > 0.5 * source["mouthSmileLeft"]
