"""Backgrounds on real renders of the astronaut: through the orchestrator, the
native engine and the H.264 encoder, then decoded and measured."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from generation.pipeline import face as face_stage
from generation.pipeline import media
from generation.pipeline import render as pipeline
from generation.pipeline.background import modes
from generation.pipeline.background.compose import BackgroundStage
from generation.pipeline.background.modes import letterbox_bar
from generation.pipeline.engines.native.engine import NativeEngine
from generation.pipeline.engines.still import StillEngine
from generation.pipeline.types import BackgroundOptions, RenderRequest

pytestmark = pytest.mark.slow
CODEC_TOLERANCE = 14  # per channel, H.264 yuv420p at CRF 20 on flat colour


def _render(tmp_path: Path, image: Path, audio: Path, background: BackgroundOptions, name: str) -> Path:
    work = tmp_path / name
    work.mkdir()
    request = RenderRequest(output_path=work / "out.mp4", work_dir=work, image_path=image, audio_path=audio,
                            resolution="480p", fps=25, expression_engine="none", background=background, captions="none")
    hooks = pipeline.RenderHooks(background_stage=lambda opts, size, static: BackgroundStage(opts, size, static_background=static))
    result = pipeline.render(request, {"native": NativeEngine(), "still": StillEngine()}, lambda p, s: None, hooks)
    assert result.engine == "native"
    return result.output_path


def _frame(video: Path, tmp_path: Path, at: float = 0.5) -> np.ndarray:
    png = media.extract_frame(video, at, tmp_path / f"{video.parent.name}-{at}.png")
    return cv2.imread(str(png))


@pytest.fixture(scope="module")
def renders(tmp_path_factory, astronaut_path, short_speech_wav):
    tmp = tmp_path_factory.mktemp("bg_renders")
    return {
        "none": _render(tmp, astronaut_path, short_speech_wav, BackgroundOptions(), "none"),
        "color": _render(tmp, astronaut_path, short_speech_wav, BackgroundOptions(mode="color", color=(0, 255, 0)), "color"),
        "cinematic": _render(tmp, astronaut_path, short_speech_wav, BackgroundOptions(mode="cinematic"), "cinematic"),
        "blur": _render(tmp, astronaut_path, short_speech_wav, BackgroundOptions(mode="blur"), "blur"),
    }


def _face_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    face = face_stage.detect_face(frame)
    assert face is not None
    x0, y0, x1, y1 = face.bbox
    # The inner face, away from hair and the segmentation edge.
    dx, dy = (x1 - x0) // 5, (y1 - y0) // 5
    return x0 + dx, y0 + dy, x1 - dx, y1 - dy


def test_color_background_fills_the_corners_and_keeps_the_face(renders, tmp_path):
    plain, green = _frame(renders["none"], tmp_path), _frame(renders["color"], tmp_path)
    for y, x in ((8, 8), (8, -9), (-9, 8)):  # the astronaut's lower right is her helmet, not background
        assert np.all(np.abs(green[y, x].astype(int) - (0, 255, 0)) <= CODEC_TOLERANCE), green[y, x]
    x0, y0, x1, y1 = _face_box(plain)
    diff = np.abs(plain[y0:y1, x0:x1].astype(int) - green[y0:y1, x0:x1].astype(int)).mean()
    assert diff < 3.0


def test_cinematic_bars_are_black_and_exactly_the_computed_height(renders, tmp_path):
    frame = _frame(renders["cinematic"], tmp_path)
    height, width = frame.shape[:2]
    bar = letterbox_bar((width, height), 2.39)
    assert bar > 0
    assert frame[: bar - 2].max() <= CODEC_TOLERANCE and frame[height - bar + 2 :].max() <= CODEC_TOLERANCE
    # Just inside the picture is not black (the bar is not taller than computed).
    assert frame[bar + 2 : bar + 6].mean() > 20 and frame[height - bar - 6 : height - bar - 2].mean() > 20


def test_blur_lowers_background_detail_but_not_the_face(renders, tmp_path):
    plain, blurred = _frame(renders["none"], tmp_path), _frame(renders["blur"], tmp_path)

    def detail(image, box):
        x0, y0, x1, y1 = box
        return cv2.Laplacian(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()

    background = (380, 0, 480, 120)  # the shuttle and flag corner, far from the person
    assert detail(plain, background) >= 3 * detail(blurred, background)
    face = _face_box(plain)
    assert abs(detail(blurred, face) - detail(plain, face)) <= 0.10 * detail(plain, face)


class _Recorder:
    """A background stage that keeps the engine's frames and changed box, and changes nothing."""

    def __init__(self):
        self.frames: list[np.ndarray] = []
        self.box = None

    def apply(self, frame, changed_box=None):
        self.frames.append(frame.copy())
        self.box = changed_box
        return frame

    def close(self):
        pass


@pytest.fixture(scope="module")
def native_frames(tmp_path_factory, astronaut_path, short_speech_wav):
    """The native engine's frames of a short 480p render, and the box it says may change."""
    recorder = _Recorder()
    work = tmp_path_factory.mktemp("native_frames")
    request = RenderRequest(output_path=work / "out.mp4", work_dir=work, image_path=astronaut_path, audio_path=short_speech_wav,
                            resolution="480p", fps=25, expression_engine="none", captions="none",
                            background=BackgroundOptions(mode="color"))
    hooks = pipeline.RenderHooks(background_stage=lambda opts, size, static: recorder)
    assert pipeline.render(request, {"native": NativeEngine(), "still": StillEngine()}, lambda p, s: None, hooks).engine == "native"
    assert recorder.box is not None and len(recorder.frames) > 10
    return recorder.frames, recorder.box


def _full_composite(mode: str, first: np.ndarray, first_alpha: np.ndarray, frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The whole frame composited the slow way, with the background built from the first frame."""
    if mode == "color":
        backdrop = np.full_like(frame, (0, 255, 0))
        return modes.replace_composite(frame, backdrop, alpha, modes.background_estimate(first, first_alpha))
    if mode == "blur":
        return modes.composite(frame, modes.blurred_background(first, first_alpha), alpha)
    return modes.composite(modes.subject_pop(frame), modes.portrait_background(first, first_alpha), alpha)


@pytest.mark.parametrize("mode", ["blur", "portrait", "color"])
def test_fast_path_matches_a_full_recomposite(mode, native_frames):
    """Only the changed region is recomposited per frame; the result matches compositing the
    whole frame with the same matte, inside the box, outside it and across its edge (no seam)."""
    frames, box = native_frames
    size = (frames[0].shape[1], frames[0].shape[0])
    x0, y0, x1, y1 = box
    inside = np.zeros(frames[0].shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    # The box's edge: a 4-pixel ring either side of each side.
    ring = np.zeros_like(inside)
    ring[max(0, y0 - 4):y1 + 4, max(0, x0 - 4):x1 + 4] = True
    ring[y0 + 4:y1 - 4, x0 + 4:x1 - 4] = False
    with BackgroundStage(BackgroundOptions(mode=mode, color=(0, 255, 0)), size, static_background=True) as stage:
        stage.apply(frames[0], box)
        first_alpha = stage.last_alpha.copy()
        for frame in frames[1:]:
            fast = stage.apply(frame, box)
            full = _full_composite(mode, frames[0], first_alpha, frame, stage.last_alpha)
            diff = np.abs(fast.astype(np.int16) - full).max(axis=2)
            for where in (inside, ~inside, ring):
                # uint8 constants against float: rounding only
                assert diff[where].mean() < 0.25 and diff[where].max() <= 3, (mode, diff[where].max())
        assert stage.region_updates == len(frames) - 1  # every later frame took the fast path
