import cv2
import numpy as np
import pytest

from expressions.engines.common import EMOTIONS
from expressions.fetch import face_landmarker_path, mini_xception_path
from expressions.services import expression_estimate, image_decode
from paksatalker_site.errors import EngineUnavailable, NoFaceError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed


@pytest.fixture
def empty_models(tmp_path, monkeypatch):
    monkeypatch.setenv("PAKSA_MODELS_DIR", str(tmp_path))
    from django.conf import settings

    if settings.configured:  # under pytest-django the setting wins over the env var
        monkeypatch.setattr(settings, "MODELS_DIR", tmp_path, raising=False)
    return tmp_path


def test_image_decode(astronaut_bgr):
    ok, png = cv2.imencode(".png", astronaut_bgr)
    assert image_decode(png.tobytes()).shape == astronaut_bgr.shape
    with pytest.raises(UnsupportedMediaType):
        image_decode(b"RIFF....WAVEfmt this is audio, not an image")
    with pytest.raises(UnsupportedMediaType):
        image_decode(b"")


def test_pixel_bomb_refused():
    ok, png = cv2.imencode(".png", np.zeros((7000, 6000), np.uint8))
    with pytest.raises(PayloadTooLarge):
        image_decode(png.tobytes())


def test_unknown_engine_and_unavailable_engine(astronaut_bgr, empty_models):
    with pytest.raises(ValidationFailed, match="valid values: auto, mediapipe"):
        expression_estimate(image_bgr=astronaut_bgr, engine="magic")
    with pytest.raises(EngineUnavailable, match="mb1_120x120.onnx"):
        expression_estimate(image_bgr=astronaut_bgr, engine="threeddfa")


def test_no_face(faceless_path):
    with pytest.raises(NoFaceError):
        expression_estimate(image_bgr=cv2.imread(str(faceless_path)), engine="auto")


def test_heuristic_emotions_without_weights(astronaut_bgr, empty_models):
    out = expression_estimate(image_bgr=astronaut_bgr)
    assert out["engine"] == "mediapipe" and out["emotion_source"] == "blendshape_heuristic"
    assert out["source"] == "face_mesh_geometry"  # no face_landmarker.task here: the geometric estimate
    probs = out["result"]["emotion_probs"]
    assert list(probs) == list(EMOTIONS) and sum(probs.values()) == pytest.approx(1.0)
    assert max(probs, key=probs.get) == "happy"
    assert {"yaw", "pitch", "roll"} <= set(out["result"]["head_pose"])


@pytest.mark.skipif(not mini_xception_path(None).exists(), reason="mini_xception weights absent; run fetch_models")
def test_auto_uses_mini_xception_when_present(astronaut_bgr, monkeypatch):
    monkeypatch.delenv("PAKSA_MODELS_DIR", raising=False)
    out = expression_estimate(image_bgr=astronaut_bgr, engine="auto")
    assert out["emotion_source"] == "mini_xception"
    assert max(out["result"]["emotion_probs"], key=out["result"]["emotion_probs"].get) == "happy"
    assert out["result"]["blendshapes"]["mouthSmileLeft"] > 0.5


@pytest.mark.skipif(not face_landmarker_path(None).exists(), reason="face_landmarker.task absent; run fetch_models")
def test_mediapipe_engine_runs_face_landmarker_when_present(astronaut_bgr, monkeypatch):
    monkeypatch.delenv("PAKSA_MODELS_DIR", raising=False)
    out = expression_estimate(image_bgr=astronaut_bgr, engine="mediapipe")
    assert out["engine"] == "mediapipe" and out["source"] == "face_landmarker.task"
    shapes = out["result"]["blendshapes"]
    assert len(shapes) == 51 and all(0.0 <= v <= 1.0 for v in shapes.values())
    assert shapes["mouthSmileLeft"] > 0.6 and shapes["cheekPuff"] < 0.2


def test_a_render_s_estimate_checks_only_the_blendshape_engine(astronaut_bgr, monkeypatch):
    """emotions=False (what a render asks) never checks or runs the emotion classifier."""
    from expressions.engines import mini_xception, registry

    monkeypatch.setattr(registry, "_cache", {})
    touched = []
    real_check = mini_xception.check
    monkeypatch.setattr(mini_xception, "check", lambda *a, **k: touched.append("check") or real_check(*a, **k))
    out = expression_estimate(image_bgr=astronaut_bgr, emotions=False)
    assert out["result"]["emotion_probs"] == {} and touched == []
    assert out["result"]["blendshapes"]["mouthSmileLeft"] > 0.3  # she smiles
    with_emotions = expression_estimate(image_bgr=astronaut_bgr)  # every engine is checked then
    assert touched == ["check"] and abs(sum(with_emotions["result"]["emotion_probs"].values()) - 1) < 1e-3
