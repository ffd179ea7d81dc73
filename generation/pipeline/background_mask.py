"""Person matte for the background stage: MediaPipe selfie segmentation, refined.

Segmentation runs at the model's small input size (MODEL_INPUT), is
smoothed over time with an EMA, and its edges are snapped to the frame by a
guided filter at REFINE_LONG_SIDE so hair keeps its soft outline instead of
a cut-out edge. For static backgrounds the matte is computed once and later
frames only update the region the engine says changed.
"""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from paksatalker_site.errors import EngineUnavailable

logger = logging.getLogger(__name__)

# Each model gets its native input shape (we resize, i.e. stretch, ourselves): the general
# model (0) takes 256x256; the landscape model (1) takes 256x144 and is the one that
# holds up on 16:9 frames (the general model fed a 256x144 frame misses the person).
MODEL_INPUT = {0: (256, 256), 1: (256, 144)}
LANDSCAPE_ASPECT = 1.4  # w/h at or above this uses the landscape model
REFINE_LONG_SIDE = 512  # guided filtering at full 720p costs ~19 ms, here ~4 ms
GUIDED_RADIUS = 4  # in refine pixels
GUIDED_EPS = 1e-3  # on a [0, 1] guide: edges weaker than ~0.03 are smoothed over
EMA_RATE = 0.5  # weight of the newest raw mask
EMA_FAST_RATE = 0.85  # ...where the mask changed a lot (real motion): limits lag
EMA_FAST_DELTA = 0.4
CONFIDENCE_LO, CONFIDENCE_HI = 0.5, 0.97  # raw probabilities remapped to 0..1 between these (a low LO lets the wall show as a rim)
BOX_MARGIN = 0.15  # the changed box grows by this fraction (and the guided radius) on each side
BOX_FEATHER_PX = 12  # pasted box region blends into the cached matte over this many pixels
INTERIOR_LEVEL = 0.98  # a changed box whose matte is all above this is inside the person: nothing to redo

_import_lock = threading.Lock()


def has_guided_filter() -> bool:
    return hasattr(cv2, "ximgproc") and hasattr(cv2.ximgproc, "guidedFilter")


def _scaled(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, long_side / max(w, h))
    return max(8, round(w * scale)), max(8, round(h * scale))


def create_segmenter(model_selection: int = 0):
    """A MediaPipe SelfieSegmentation graph (bundled in the wheel); EngineUnavailable if it cannot load."""
    try:
        with _import_lock:
            import mediapipe as mp

            return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)
    except Exception as exc:  # ImportError, or the graph failing to build
        raise EngineUnavailable(f"MediaPipe selfie segmentation cannot load: {exc}") from exc


class PersonMasker:
    """Per-frame person alpha (float32, frame size, 1 = person) for one job.

    Not thread-safe (one MediaPipe graph per instance); ``close()`` frees it.
    """

    def __init__(self, size: tuple[int, int], *, static: bool = False, model_selection: int | None = None):
        self.size = size
        self.static = static
        if model_selection is None:
            model_selection = 1 if size[0] / size[1] >= LANDSCAPE_ASPECT else 0
        self.model_selection = model_selection
        self.seg_size = MODEL_INPUT[model_selection]
        self.refine_size = _scaled(size, REFINE_LONG_SIDE)
        self._segmenter = create_segmenter(model_selection)
        self._state: np.ndarray | None = None  # EMA of raw masks, seg_size
        self._alpha: np.ndarray | None = None  # refined full-size matte
        self.last_raw: np.ndarray | None = None  # newest unsmoothed mask (seg_size), for diagnostics/tests
        # Where the last update() changed the matte: None = nowhere, else (x0, y0, x1, y1);
        # a dynamic (non-static) update changes the whole frame.
        self.last_update_box: tuple[int, int, int, int] | None = None

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """The raw person probability at seg_size, float32 0..1."""
        small = cv2.resize(frame, self.seg_size, interpolation=cv2.INTER_AREA)
        result = self._segmenter.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        mask = result.segmentation_mask
        if mask is None:
            return np.zeros((self.seg_size[1], self.seg_size[0]), np.float32)
        return np.asarray(mask, dtype=np.float32)

    def _smooth(self, raw: np.ndarray) -> np.ndarray:
        if self._state is None:
            self._state = raw.copy()
        else:
            delta = raw - self._state
            rate = np.where(np.abs(delta) > EMA_FAST_DELTA, EMA_FAST_RATE, EMA_RATE).astype(np.float32)
            self._state += rate * delta
        return self._state

    def _refine(self, low: np.ndarray, frame: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Upsample + confidence remap + edge-aware feathering; full frame, or just ``box``."""
        rw, rh = self.refine_size
        w, h = self.size
        m = cv2.resize(low, (rw, rh), interpolation=cv2.INTER_LINEAR)
        m = np.clip((m - CONFIDENCE_LO) / (CONFIDENCE_HI - CONFIDENCE_LO), 0.0, 1.0)
        guide_src = frame
        if box is not None:
            x0, y0, x1, y1 = box
            sx, sy = rw / w, rh / h
            rx0, ry0 = int(x0 * sx), int(y0 * sy)
            rx1, ry1 = min(rw, int(np.ceil(x1 * sx))), min(rh, int(np.ceil(y1 * sy)))
            m = m[ry0:ry1, rx0:rx1]
            guide_src = frame[y0:y1, x0:x1]
            out_size = (x1 - x0, y1 - y0)
        else:
            out_size = (w, h)
        small_guide = cv2.resize(guide_src, (m.shape[1], m.shape[0]), interpolation=cv2.INTER_AREA)
        guide = cv2.cvtColor(small_guide, cv2.COLOR_BGR2GRAY).astype(np.float32) * (1.0 / 255.0)
        if has_guided_filter():
            m = cv2.ximgproc.guidedFilter(guide, np.ascontiguousarray(m), GUIDED_RADIUS, GUIDED_EPS)
        else:  # plain OpenCV: a soft feather instead of edge-aware refinement
            m = cv2.GaussianBlur(m, (0, 0), GUIDED_RADIUS / 2.0)
        m = np.nan_to_num(m, copy=False)
        np.clip(m, 0.0, 1.0, out=m)
        return cv2.resize(m, out_size, interpolation=cv2.INTER_LINEAR)

    def _expand(self, box: tuple) -> tuple[int, int, int, int] | None:
        w, h = self.size
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        mx = int((x1 - x0) * BOX_MARGIN) + GUIDED_RADIUS * w // self.refine_size[0] + BOX_FEATHER_PX
        my = int((y1 - y0) * BOX_MARGIN) + GUIDED_RADIUS * h // self.refine_size[1] + BOX_FEATHER_PX
        x0, y0, x1, y1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        return x0, y0, x1, y1

    def _feather(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """Weights for pasting a box: 1 inside, ramping to 0 at sides not on the frame border."""
        x0, y0, x1, y1 = box
        w, h = self.size
        bw, bh = x1 - x0, y1 - y0
        f = float(BOX_FEATHER_PX)
        xs, ys = np.arange(bw, dtype=np.float32), np.arange(bh, dtype=np.float32)
        wx = np.minimum(1.0 if x0 == 0 else (xs + 1) / f, 1.0 if x1 == w else (bw - xs) / f)
        wy = np.minimum(1.0 if y0 == 0 else (ys + 1) / f, 1.0 if y1 == h else (bh - ys) / f)
        return np.clip(np.minimum.outer(wy, wx), 0.0, 1.0).astype(np.float32)

    def update(self, frame: np.ndarray, changed_box: tuple | None = None) -> np.ndarray:
        """The matte for ``frame``; treat the returned array as read-only."""
        self.last_update_box = None
        if self.static and self._alpha is not None:
            if changed_box is None:
                return self._alpha
            w, h = self.size
            bx0, by0, bx1, by1 = (int(round(v)) for v in changed_box)
            bx0, by0, bx1, by1 = max(0, bx0), max(0, by0), min(w, bx1), min(h, by1)
            if bx1 <= bx0 or by1 <= by0 or self._alpha[by0:by1, bx0:bx1].min() > INTERIOR_LEVEL:
                # Nothing on screen moved, or only pixels inside the person: the matte stands.
                return self._alpha
            box = self._expand(changed_box)
            if box is None:
                return self._alpha
            x0, y0, x1, y1 = box
            self.last_raw = self.segment(frame)
            low = self._smooth(self.last_raw)
            fresh = self._refine(low, frame, box)
            weight = self._feather(box)
            region = self._alpha[y0:y1, x0:x1]
            region += weight * (fresh - region)
            self.last_update_box = box
            return self._alpha
        self.last_raw = self.segment(frame)
        self._alpha = self._refine(self._smooth(self.last_raw), frame)
        self.last_update_box = (0, 0, self.size[0], self.size[1])
        return self._alpha

    def close(self) -> None:
        if self._segmenter is not None:
            try:
                self._segmenter.close()
            except Exception:  # closing a half-built graph must not mask the real error
                logger.debug("selfie segmentation close failed", exc_info=True)
            self._segmenter = None
