import numpy as np
import pytest

from expressions.engines import openseeface
from tests.expressions.faces68 import neutral68
from tests.expressions.onnx_builders import openseeface_like, truncate, write_lfs_pointer


def encode(points66: np.ndarray, box) -> np.ndarray:
    """The 198x28x28 tensor OpenSeeFace would output for these pixel landmarks (exact inverse of decode)."""
    x0, y0, x1, y1 = box
    t = np.full((198, 28, 28), 0.5, np.float32)  # logit(0.5) = 0 offset
    for i, (x, y) in enumerate(points66):
        u = (x - x0) / ((x1 - x0) / 224.0) / 223.0 * 27.0
        v = (y - y0) / ((y1 - y0) / 224.0) / 223.0 * 27.0
        row, col = int(np.floor(v)), int(np.floor(u))
        t[i, row, col] = 0.9
        for ch, frac in ((66 + i, (v - row) / 27.0), (132 + i, (u - col) / 27.0)):
            z = frac * 16.0  # offset = logit(p) / 16
            t[ch, row, col] = 1.0 / (1.0 + np.exp(-z))
    return t[None]


def test_absent_pointer_truncated_wrong_shape_valid(tmp_path):
    assert "no lm_model*_opt.onnx" in openseeface.check(tmp_path).reason
    path = tmp_path / "openseeface" / "lm_model3_opt.onnx"
    openseeface_like(path)
    status = openseeface.check(tmp_path)
    assert status.available, status.reason
    truncate(path)
    assert "truncated" in openseeface.check(tmp_path).reason
    write_lfs_pointer(path)
    assert "Git LFS pointer" in openseeface.check(tmp_path).reason
    openseeface_like(path, channels=132)
    assert "expected [1, 198, 28, 28]" in openseeface.check(tmp_path).reason


def test_decode_inverts_layout_and_maps_blendshapes():
    box = (100, 80, 324, 304)
    pts68 = neutral68() * 60 + [212, 150]
    pts66 = np.delete(pts68, [60, 64], axis=0)
    decoded, conf = openseeface.decode(encode(pts66, box)[0], box)
    assert np.abs(decoded - pts66).max() < 0.05
    assert conf.min() == pytest.approx(0.9)
    assert openseeface.to_ibug68(decoded).shape == (68, 2)


def test_inference_runs_end_to_end(tmp_path, astronaut_bgr):
    openseeface_like(tmp_path / "openseeface" / "lm_model3_opt.onnx")
    out = openseeface.estimate(astronaut_bgr, (178, 71, 271, 178), tmp_path)
    assert out.source.startswith("OpenSeeFace lm_model3_opt.onnx")
    assert all(0 <= v <= 1 for v in out.blendshapes.values()) and "jawOpen" in out.blendshapes
    assert np.isfinite(out.head_pose["roll"])


def test_preprocess_normalisation():
    img = np.full((50, 50, 3), (0, 128, 255), np.uint8)  # BGR
    x = openseeface.preprocess(img, (0, 0, 50, 50))
    assert x.shape == (1, 3, 224, 224)
    assert x[0, 0, 0, 0] == pytest.approx((1.0 - 0.485) / 0.229, abs=1e-4)  # R channel first
    assert x[0, 2, 0, 0] == pytest.approx((0.0 - 0.406) / 0.225, abs=1e-4)
