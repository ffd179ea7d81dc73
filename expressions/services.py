"""Expression estimation on one image.

Engine choice for ``auto`` (documented order):
- blendshapes: MediaPipe FaceLandmarker (``face_landmarker.task``, its trained
  blendshape network: the 51 ARKit-named of its 52 scores) when the bundle loads
  and runs, else the MediaPipe face-mesh geometry (478 refined points, always
  available; the response's ``source`` says which ran). The 478-point mesh is
  denser than the 66/68 points of OpenSeeFace and 3DDFA_V2, so those run only
  when asked by name;
- head pose: 3DDFA_V2 when available (a fitted 3DMM pose), else the mesh axes;
- emotion: mini-Xception whenever its weights are present, else the
  blendshape heuristic (``emotion_source`` says which).
``engine`` in the result is the engine that produced the blendshapes (or the
engine asked for by name).
"""

from __future__ import annotations

import logging

import numpy as np

from expressions.engines import emotion_heuristic, mediapipe_geometry, mediapipe_tasks, mini_xception, openseeface, threeddfa
from expressions.engines.common import EngineOutput, normalise_probs
from expressions.selectors import configured_models_dir, expression_capabilities
from paksatalker_site.errors import (
    EngineFailed,
    EngineUnavailable,
    NoFaceError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ("auto", "mediapipe", "threeddfa", "openseeface", "mini_xception")
MAX_PIXELS = 40_000_000


def image_decode(data: bytes) -> np.ndarray:
    """A BGR image from uploaded bytes; 415 for non-images, 413 beyond 40 MP."""
    import cv2

    if not data:
        raise UnsupportedMediaType("The uploaded file is empty, not an image.")
    size = _image_size(data)
    if size and size[0] * size[1] > MAX_PIXELS:
        raise PayloadTooLarge(f"The image is {size[0]}x{size[1]} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnsupportedMediaType("The uploaded file is not an image that can be decoded (JPEG, PNG, WebP, BMP, TIFF).")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise PayloadTooLarge(f"The image is larger than {MAX_PIXELS // 1_000_000} megapixels.")
    return image


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header, read before decoding so a pixel bomb is refused cheaply."""
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:  # noqa: BLE001 - unknown to PIL; OpenCV gets its chance
        return None


def _blendshapes(engine: str, image_bgr: np.ndarray, face, caps: dict) -> tuple[str, EngineOutput]:
    models = configured_models_dir()
    try:
        if engine == "threeddfa":
            return "threeddfa", threeddfa.estimate(image_bgr, face.bbox, models)
        if engine == "openseeface":
            return "openseeface", openseeface.estimate(image_bgr, face.bbox, models)
        if caps["mediapipe"]["source"] == mediapipe_tasks.SOURCE:
            out = mediapipe_tasks.estimate(image_bgr, models)
            if out is not None:
                return "mediapipe", out
            logger.info("FaceLandmarker found no face where the face mesh did; using mesh geometry")
    except Exception as exc:  # noqa: BLE001 - runtime failure of a model that loaded
        logger.exception("expression engine %s failed", engine)
        raise EngineFailed(f"The {engine} expression engine failed: {exc}") from exc
    return "mediapipe", EngineOutput(blendshapes=mediapipe_geometry.blendshapes_from_mesh(face.landmarks), source="face_mesh_geometry")


def _head_pose(engine: str, output: EngineOutput, image_bgr: np.ndarray, face, caps: dict) -> tuple[str, dict]:
    if engine == "threeddfa" and output.head_pose:
        return "threeddfa", output.head_pose
    if engine == "auto" and caps.get("threeddfa", {}).get("available"):
        try:
            return "threeddfa", threeddfa.estimate(image_bgr, face.bbox, configured_models_dir()).head_pose
        except Exception:  # noqa: BLE001 - the mesh pose is a sound fallback
            logger.exception("3DDFA_V2 head pose failed; using the mesh pose")
    return "mediapipe", mediapipe_geometry.head_pose_from_mesh(face.landmarks)


def expression_estimate(*, image_bgr: np.ndarray, engine: str = "auto", emotions: bool = True) -> dict:
    """Blendshapes (ARKit names, 0..1), emotion probabilities (7, sum 1) and head pose of the main face.

    ``emotions=False`` leaves ``emotion_probs`` empty and never loads the emotion classifier:
    a render needs only the face's rest blendshapes.
    """
    from generation.pipeline.face import detect_face

    if engine not in ENGINE_CHOICES:
        raise ValidationFailed(f"Unknown expression engine '{engine}'; valid values: {', '.join(ENGINE_CHOICES)}.")
    # Without emotions, auto and mediapipe need only the blendshape engine checked (no torch).
    caps = expression_capabilities(only=None if emotions or engine not in ("auto", "mediapipe") else ("mediapipe",))
    if engine != "auto" and not caps[engine]["available"]:
        raise EngineUnavailable(f"The {engine} expression engine is not available: {caps[engine]['reason']}.")
    face = detect_face(image_bgr)
    if face is None:
        raise NoFaceError("No face was found in the image.")
    bs_engine, output = _blendshapes(engine, image_bgr, face, caps)
    pose_engine, head_pose = _head_pose(engine, output, image_bgr, face, caps)
    if not emotions:
        probs, emotion_source = {}, "none"
    elif caps["mini_xception"]["available"]:
        try:
            probs, emotion_source = mini_xception.emotion_probs(image_bgr, face.bbox, mini_xception.mini_xception_path(configured_models_dir())), "mini_xception"
        except Exception as exc:  # noqa: BLE001
            logger.exception("mini_xception failed")
            if engine == "mini_xception":
                raise EngineFailed(f"The mini_xception engine failed: {exc}") from exc
            probs, emotion_source = emotion_heuristic.emotion_from_blendshapes(output.blendshapes), "blendshape_heuristic"
    else:
        probs, emotion_source = emotion_heuristic.emotion_from_blendshapes(output.blendshapes), "blendshape_heuristic"
    return {
        "engine": "mini_xception" if engine == "mini_xception" else bs_engine,
        "source": output.source,
        "emotion_source": emotion_source,
        "engines": {"blendshapes": bs_engine, "head_pose": pose_engine, "emotion": emotion_source},
        "result": {"blendshapes": output.blendshapes, "emotion_probs": normalise_probs(probs) if probs else {}, "head_pose": head_pose,
                   "neutral": output.neutral},
    }
