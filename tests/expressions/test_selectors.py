import shutil

import pytest

from expressions.engines.registry import ENGINE_NAMES
from expressions.fetch import face_landmarker_path, mini_xception_path
from expressions.selectors import expression_capabilities
from tests.expressions.onnx_builders import openseeface_like, write_lfs_pointer


def test_empty_models_dir(tmp_path):
    caps = expression_capabilities(models=tmp_path, refresh=True)
    assert set(caps) == set(ENGINE_NAMES)
    assert caps["mediapipe"]["available"] and caps["mediapipe"]["source"] == "face_mesh_geometry"
    for name in ("threeddfa", "openseeface", "mini_xception"):
        assert caps[name]["available"] is False and caps[name]["reason"]


def test_cache_follows_file_changes(tmp_path):
    assert not expression_capabilities(models=tmp_path)["openseeface"]["available"]
    path = openseeface_like(tmp_path / "openseeface" / "lm_model3_opt.onnx")
    assert expression_capabilities(models=tmp_path)["openseeface"]["available"]
    write_lfs_pointer(path)
    caps = expression_capabilities(models=tmp_path)
    assert not caps["openseeface"]["available"] and "Git LFS pointer" in caps["openseeface"]["reason"]


@pytest.mark.skipif(not mini_xception_path(None).exists(), reason="mini_xception weights absent; run fetch_models")
def test_mini_xception_valid(tmp_path):
    target = mini_xception_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(mini_xception_path(None), target)
    assert expression_capabilities(models=tmp_path)["mini_xception"]["available"]


def test_fallback_says_why(tmp_path):
    caps = expression_capabilities(models=tmp_path, refresh=True)["mediapipe"]
    assert caps["face_landmarker_task"]["available"] is False
    assert "face_landmarker.task is missing" in caps["fallback_reason"] and caps["blendshape_count"] == 23


@pytest.mark.skipif(not face_landmarker_path(None).exists(), reason="face_landmarker.task absent; run fetch_models")
def test_face_landmarker_runs_when_its_bundle_loads(tmp_path):
    target = face_landmarker_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(face_landmarker_path(None), target)
    caps = expression_capabilities(models=tmp_path)["mediapipe"]
    assert caps["source"] == "face_landmarker.task" and caps["blendshape_count"] == 51 and not caps["fallback_reason"]
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # truncated: back to the geometry
    caps = expression_capabilities(models=tmp_path)["mediapipe"]
    assert caps["available"] and caps["source"] == "face_mesh_geometry" and caps["fallback_reason"]
