"""Small ONNX models with the signatures of the real 3DDFA_V2 and OpenSeeFace models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def threeddfa_like(path: Path, bias: np.ndarray, *, size: int = 120, n_out: int = 62) -> Path:
    """Conv -> global average pool -> Gemm producing ``1 x n_out``; zero Gemm weights,
    so the output is ``bias`` whatever the image (a known parameter vector)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(np.array([1, 8], np.int64), "shape"),
        numpy_helper.from_array(np.zeros((8, n_out), np.float32), "fc_w"),
        numpy_helper.from_array(np.asarray(bias, np.float32).reshape(n_out), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w"], ["c"], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "threeddfa_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n_out])],
        inits,
    )  # fmt: skip
    return _save(graph, path)


def openseeface_like(path: Path, *, size: int = 224, channels: int = 198, out_res: int = 28) -> Path:
    """A conv stack from 1x3x224x224 to 1 x channels x 28 x 28 (three stride-2 convs)."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.1, (16, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (32, 16, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, (channels, 32, 3, 3)).astype(np.float32), "w3"),
    ]
    stride = size // out_res
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["a"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node("Conv", ["ar", "w2"], ["b"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["b"], ["br"]),
        helper.make_node("Conv", ["br", "w3"], ["c"], strides=[stride // 4, stride // 4], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "openseeface_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, channels, out_res, out_res])],
        inits,
    )  # fmt: skip
    return _save(graph, path)


def write_lfs_pointer(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 3400000\n")
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
