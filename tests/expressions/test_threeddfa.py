import math
import pickle

import numpy as np
import pytest

from expressions.engines import threeddfa
from tests.expressions.faces68 import JAW_POINTS, neutral68
from tests.expressions.onnx_builders import threeddfa_like, truncate, write_lfs_pointer

SCALE = 30.0  # crop pixels per inter-ocular distance in the fake fit


def write_bfm(path):
    """A 68-vertex 'BFM' whose mean is a neutral face (3DDFA's y-up) and whose
    first expression coefficient opens the jaw."""
    pts = neutral68()
    u = np.stack([pts[:, 0], -pts[:, 1], np.zeros(68)], axis=1).reshape(-1, 1)  # x0,y0,z0,x1,...
    w_exp = np.zeros((204, 10))
    for i in JAW_POINTS:
        w_exp[3 * i + 1, 0] = -0.4  # down in y-up coordinates
    rng = np.random.default_rng(2)
    bfm = {"u": u, "w_shp": rng.normal(0, 1e-4, (204, 40)), "w_exp": w_exp, "keypoints": np.arange(204), "tri": np.zeros((3, 1))}
    path.write_bytes(pickle.dumps(bfm))


def param_vector(rot: np.ndarray, jaw: float) -> np.ndarray:
    p = np.zeros(62)
    p[:12] = np.concatenate([SCALE * rot, [[60.0], [60.0], [0.0]]], axis=1).reshape(-1)
    p[52] = jaw
    return p


def install(models, param: np.ndarray):
    d = models / "threeddfa"
    mean, std = np.linspace(-1, 1, 62), np.linspace(0.5, 2.0, 62)
    threeddfa_like(d / threeddfa.MODEL_NAME, (param - mean) / std)  # the net outputs normalised params
    (d / threeddfa.MEAN_STD_NAME).write_bytes(pickle.dumps({"mean": mean, "std": std}))
    write_bfm(d / threeddfa.BFM_NAME)


def rot_z(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_absent_then_valid(tmp_path):
    status = threeddfa.check(tmp_path)
    assert not status.available and "mb1_120x120.onnx is missing" in status.reason
    install(tmp_path, param_vector(np.eye(3), 0.0))
    assert threeddfa.check(tmp_path).available


@pytest.mark.parametrize("name", [threeddfa.MEAN_STD_NAME, threeddfa.BFM_NAME])
def test_missing_companion_file_is_named(tmp_path, name):
    install(tmp_path, param_vector(np.eye(3), 0.0))
    (tmp_path / "threeddfa" / name).unlink()
    status = threeddfa.check(tmp_path)
    assert not status.available and name in status.reason


def test_pointer_truncated_and_wrong_shape_rejected(tmp_path):
    install(tmp_path, param_vector(np.eye(3), 0.0))
    model = tmp_path / "threeddfa" / threeddfa.MODEL_NAME
    truncate(model)
    assert "truncated" in threeddfa.check(tmp_path).reason
    write_lfs_pointer(model)
    assert "Git LFS pointer, not the model" in threeddfa.check(tmp_path).reason
    threeddfa_like(model, np.zeros(60), n_out=60)
    assert "expected [1, 62]" in threeddfa.check(tmp_path).reason
    (tmp_path / "threeddfa" / threeddfa.MEAN_STD_NAME).write_bytes(b"not a pickle at all, just bytes")
    threeddfa_like(model, np.zeros(62))
    assert "cannot be unpickled" in threeddfa.check(tmp_path).reason


def test_pose_from_param_matches_known_rotations():
    assert threeddfa.pose_from_param(param_vector(rot_z(10), 0)) == pytest.approx({"yaw": 0, "pitch": 0, "roll": 10}, abs=1e-3)
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    pose = threeddfa.pose_from_param(param_vector(np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]), 0))
    assert abs(pose["yaw"]) == pytest.approx(20, abs=1e-3) and pose["pitch"] == pytest.approx(0, abs=1e-3)


def test_inference_maps_to_pose_and_blendshapes(tmp_path, astronaut_bgr):
    bbox = (178, 71, 271, 178)
    install(tmp_path, param_vector(rot_z(8), 0.0))
    closed = threeddfa.estimate(astronaut_bgr, bbox, tmp_path)
    assert closed.head_pose["roll"] == pytest.approx(8, abs=0.01)
    assert closed.blendshapes["jawOpen"] < 0.1
    install(tmp_path, param_vector(rot_z(8), 1.0))
    opened = threeddfa.estimate(astronaut_bgr, bbox, tmp_path)
    assert opened.blendshapes["jawOpen"] > 0.5
    assert all(0 <= v <= 1 for v in opened.blendshapes.values())
