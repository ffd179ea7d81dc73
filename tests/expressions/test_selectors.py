import shutil

import pytest

from expressions.engines.registry import ENGINE_NAMES
from expressions.fetch import mini_xception_path
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
