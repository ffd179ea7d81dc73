"""Loading user-supplied ONNX models through onnxruntime (CPU, few threads),
with checks that tell a pointer, a truncated file and a wrong model apart."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from expressions.model_files import basic_file_reason, display_path

logger = logging.getLogger(__name__)

ORT_THREADS = 2  # the host has few cores shared with the renderer
_lock = threading.Lock()
_sessions: dict[tuple[str, float], object] = {}


def _new_session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = ORT_THREADS
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def session(path: Path):
    """A cached session for the file's current version (a changed mtime reloads)."""
    key = (str(path), path.stat().st_mtime)
    with _lock:
        sess = _sessions.get(key)
        if sess is None:
            for old in [k for k in _sessions if k[0] == str(path)]:
                del _sessions[old]
            sess = _sessions[key] = _new_session(path)
    return sess


def _dims_match(actual, expected: tuple[int, ...]) -> bool:
    if len(actual) != len(expected):
        return False
    return all(not isinstance(a, int) or a <= 0 or a == e for a, e in zip(actual, expected))


def onnx_reason(path: Path, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> str:
    """'' when the file is an ONNX model with this input and (first) output shape, else why not.

    The output shape is checked on a real zero-input run, so a model whose
    declared shape is symbolic still has to produce the right tensor.
    """
    reason = basic_file_reason(path, min_bytes=64)
    if reason:
        return reason
    shown = display_path(path)
    try:
        import onnx

        onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError and friends
        return f"{shown} is not a readable ONNX model ({type(exc).__name__}); it may be truncated or the wrong file"
    try:
        sess = session(path)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        return f"{shown} cannot be loaded by onnxruntime: {str(exc).splitlines()[0][:200]}"
    inputs = sess.get_inputs()
    if len(inputs) != 1 or not _dims_match(inputs[0].shape, input_shape):
        got = [i.shape for i in inputs]
        return f"{shown} takes inputs {got}, expected one input of shape {list(input_shape)}"
    try:
        out = sess.run(None, {inputs[0].name: np.zeros(input_shape, np.float32)})[0]
    except Exception as exc:  # noqa: BLE001
        return f"{shown} failed on a test input: {str(exc).splitlines()[0][:200]}"
    if tuple(out.shape) != tuple(output_shape):
        return f"{shown} outputs shape {list(out.shape)}, expected {list(output_shape)}"
    return ""


def run(path: Path, tensor: np.ndarray) -> np.ndarray:
    sess = session(path)
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: tensor.astype(np.float32)})[0]
