"""Person matte for the background stage: MediaPipe selfie segmentation, refined.

Segmentation runs at the model's small input size (MODEL_INPUT), is
smoothed over time with an EMA, and its edges are snapped to the frame by a
guided filter at about REFINE_LONG_SIDE so hair keeps its soft outline
instead of a cut-out edge. For static backgrounds the matte is computed once;
later frames touch only the region the engine says changed, and only as much
as the matte's edge there moved (PersonMasker._update_box): a cheap gray probe
decides between nothing, a guided refinement of the box, or a model run.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

import cv2
import numpy as np

from generation.pipeline.errors import EngineUnavailable

logger = logging.getLogger(__name__)

# Each model gets its native input shape (we resize, i.e. stretch, ourselves): the general
# model (0) takes 256x256; the landscape model (1) takes 256x144 and is the one that
# holds up on 16:9 frames (the general model fed a 256x144 frame misses the person).
MODEL_INPUT = {0: (256, 256), 1: (256, 144)}
LANDSCAPE_ASPECT = 1.4  # w/h at or above this uses the landscape model
REFINE_LONG_SIDE = 640  # at most this long; guided filtering at full 720p costs ~19 ms, at 640x360 ~5 ms
GUIDED_RADIUS = 4  # in refine pixels
GUIDED_EPS = 1e-3  # on a [0, 1] guide: edges weaker than ~0.03 are smoothed over
EMA_RATE = 0.5  # weight of the newest raw mask
EMA_FAST_RATE = 0.85  # ...where the mask changed a lot (real motion): limits lag
EMA_FAST_DELTA = 0.4
CONFIDENCE_LO, CONFIDENCE_HI = 0.5, 0.97  # raw probabilities remapped to 0..1 between these (a low LO lets the wall show as a rim)
BOX_MARGIN = 0.15  # the changed box grows by this fraction (and the guided radius) on each side
BOX_FEATHER_PX = 12  # pasted box region blends into the cached matte over this many pixels
# Static backgrounds: the model re-runs when the frame along the matte's edge changed this much
# (mean gray levels) since its last run, and at least every SEGMENT_MAX_GAP frames. The native
# engine's head sway moves the probe 2-5 levels around its rest position, which the guided
# refinement follows on its own: a model run (the stage's costliest step) is for real moves.
EDGE_DRIFT = 8.0
SEGMENT_MAX_GAP = 50
REFINE_DRIFT = 2.5  # below this (since the last refinement) the guided refinement is skipped too: the matte stands
EDGE_BAND = (0.02, 0.98)  # matte values that make up its edge
EDGE_DILATE = 2  # ...grown by this many refine pixels: an edge moving out of the band still counts
INTERIOR_LEVEL = 0.98  # a changed box whose matte is all above this is inside the person: nothing to redo

_import_lock = threading.Lock()


def has_guided_filter() -> bool:
    return hasattr(cv2, "ximgproc") and hasattr(cv2.ximgproc, "guidedFilter")


def _refine_factor(size: tuple[int, int]) -> int:
    """Whole-number downscale to refine size: OpenCV's area resize is ~10x faster at integer factors."""
    return max(1, -(-max(size) // REFINE_LONG_SIDE))


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
        self.refine_factor = _refine_factor(size)
        self.refine_size = (max(8, round(size[0] / self.refine_factor)), max(8, round(size[1] / self.refine_factor)))
        self._segmenter = create_segmenter(model_selection)
        self._state: np.ndarray | None = None  # EMA of raw masks, seg_size
        self._alpha: np.ndarray | None = None  # refined full-size matte
        self.last_raw: np.ndarray | None = None  # newest unsmoothed mask (seg_size), for diagnostics/tests
        # Where the last update() changed the matte: None = nowhere, else (x0, y0, x1, y1);
        # a dynamic (non-static) update changes the whole frame.
        self.last_update_box: tuple[int, int, int, int] | None = None
        self.segment_calls = 0  # model runs so far (static: the first frame, then on edge drift)
        self._small: np.ndarray | None = None  # static: the model-size frame, refreshed in the box only
        self._m_refine: np.ndarray | None = None  # static: remapped mask at refine size, as of the last model run
        self._since_seg = 0  # static: box updates since the model last ran
        self._edge_ref: tuple | None = None  # static: (box, gray probe, edge band) as of the last model run
        self._refined_probe: np.ndarray | None = None  # static: gray probe as of the last box refinement
        self.refine_calls = 0  # static: box refinements after the first frame
        self._feathers: dict = {}  # (box, ramp) -> paste weights

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """The raw person probability at seg_size, float32 0..1."""
        return self._run_model(cv2.resize(frame, self.seg_size, interpolation=cv2.INTER_AREA))

    def _run_model(self, small: np.ndarray) -> np.ndarray:
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

    def _remapped(self, low: np.ndarray) -> np.ndarray:
        """The smoothed mask at refine size with the confidence band stretched to 0..1."""
        m = cv2.resize(low, self.refine_size, interpolation=cv2.INTER_LINEAR)
        return np.clip((m - CONFIDENCE_LO) * (1.0 / (CONFIDENCE_HI - CONFIDENCE_LO)), 0.0, 1.0)

    def _guided(self, m: np.ndarray, guide_src: np.ndarray, out_size: tuple[int, int], gray: Optional[np.ndarray] = None) -> np.ndarray:
        """Edge-aware feathering of ``m`` against ``guide_src`` (frame pixels), resized to out_size.

        ``gray``: the guide already in gray at ``m``'s size (the edge probe), if the caller has it.
        """
        if gray is None or gray.shape != m.shape:
            small_guide = cv2.resize(guide_src, (m.shape[1], m.shape[0]), interpolation=cv2.INTER_AREA)
            gray = cv2.cvtColor(small_guide, cv2.COLOR_BGR2GRAY)
        guide = gray.astype(np.float32) * (1.0 / 255.0)
        if has_guided_filter():
            m = cv2.ximgproc.guidedFilter(guide, np.ascontiguousarray(m), GUIDED_RADIUS, GUIDED_EPS)
        else:  # plain OpenCV: a soft feather instead of edge-aware refinement
            m = cv2.GaussianBlur(m, (0, 0), GUIDED_RADIUS / 2.0)
        np.clip(m, 0.0, 1.0, out=m)
        return cv2.resize(m, out_size, interpolation=cv2.INTER_LINEAR)

    def _refine(self, low: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Upsample + confidence remap + edge-aware feathering of the whole frame."""
        return self._guided(self._remapped(low), frame, self.size)

    def _refine_box(self, frame: np.ndarray, box: tuple[int, int, int, int], gray: Optional[np.ndarray] = None) -> np.ndarray:
        """The refined matte inside ``box`` from the cached refine-size mask (static path)."""
        rw, rh = self.refine_size
        f = self.refine_factor
        x0, y0, x1, y1 = box
        rx0, ry0 = min(rw - 1, x0 // f), min(rh - 1, y0 // f)
        rx1, ry1 = max(rx0 + 1, min(rw, -(-x1 // f))), max(ry0 + 1, min(rh, -(-y1 // f)))
        return self._guided(self._m_refine[ry0:ry1, rx0:rx1], frame[y0:y1, x0:x1], (x1 - x0, y1 - y0), gray)

    def _expand(self, box: tuple, seg_frame: bool = True) -> tuple[int, int, int, int] | None:
        """The matte region a changed box affects, aligned to whole refine pixels.

        After a model run the new mask differs across the whole head: the box grows
        by BOX_MARGIN plus the guided radius and the feather. In between only the
        guide changed, inside the box: the guided filter reaches 2 radii, which is
        the ring (and feather) around the box then.
        """
        w, h = self.size
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        f = self.refine_factor
        if seg_frame:
            mx = int((x1 - x0) * BOX_MARGIN) + GUIDED_RADIUS * f + BOX_FEATHER_PX
            my = int((y1 - y0) * BOX_MARGIN) + GUIDED_RADIUS * f + BOX_FEATHER_PX
        else:
            mx = my = self._ring_px()
        x0, y0 = max(0, (x0 - mx) // f * f), max(0, (y0 - my) // f * f)
        x1, y1 = min(w, -(-(x1 + mx) // f) * f), min(h, -(-(y1 + my) // f) * f)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        return x0, y0, x1, y1

    def _ring_px(self) -> int:
        return 2 * GUIDED_RADIUS * self.refine_factor + 2

    def _feather(self, box: tuple[int, int, int, int], ramp: int) -> np.ndarray:
        """Weights for pasting a box: 1 inside, ramping to 0 over ``ramp`` px at sides not on the frame border."""
        key = (box, ramp)
        if key in self._feathers:
            return self._feathers[key]
        x0, y0, x1, y1 = box
        w, h = self.size
        bw, bh = x1 - x0, y1 - y0
        f = float(ramp)
        xs, ys = np.arange(bw, dtype=np.float32), np.arange(bh, dtype=np.float32)
        wx = np.minimum(1.0 if x0 == 0 else (xs + 1) / f, 1.0 if x1 == w else (bw - xs) / f)
        wy = np.minimum(1.0 if y0 == 0 else (ys + 1) / f, 1.0 if y1 == h else (bh - ys) / f)
        if len(self._feathers) > 8:  # the engine's box is fixed per job; never grow without bound
            self._feathers.clear()
        self._feathers[key] = weights = np.clip(np.minimum.outer(wy, wx), 0.0, 1.0).astype(np.float32)
        return weights

    def _segment_static(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Re-segment with only ``box`` of the cached model-size frame refreshed.

        Outside the box the frame never changes, so its downscale (the costliest
        part of a full-frame segmentation at 720p+) is reused; the raw mask is
        smoothed and upsampled to refine size once here, not per frame.
        """
        w, h = self.size
        sw, sh = self.seg_size
        x0, y0, x1, y1 = box
        # Whole model pixels covering the box, and the frame pixels they cover.
        sx0, sy0 = int(x0 * sw / w), int(y0 * sh / h)
        sx1, sy1 = min(sw, int(np.ceil(x1 * sw / w))), min(sh, int(np.ceil(y1 * sh / h)))
        fx0, fy0 = int(sx0 * w / sw), int(sy0 * h / sh)
        fx1, fy1 = min(w, int(np.ceil(sx1 * w / sw))), min(h, int(np.ceil(sy1 * h / sh)))
        if sx1 > sx0 and sy1 > sy0:
            self._small[sy0:sy1, sx0:sx1] = cv2.resize(frame[fy0:fy1, fx0:fx1], (sx1 - sx0, sy1 - sy0), interpolation=cv2.INTER_AREA)
        self.last_raw = self._run_model(self._small)
        self._m_refine = self._remapped(self._smooth(self.last_raw))
        self.segment_calls += 1

    def _edge_probe(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The box in gray at refine size (integer area downscale: cheap)."""
        x0, y0, x1, y1 = box
        f = self.refine_factor
        size = (max(1, (x1 - x0) // f), max(1, (y1 - y0) // f))
        # Downscale first: the colour conversion then touches 1/f^2 of the pixels.
        return cv2.cvtColor(cv2.resize(frame[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)

    def _edge_drift(self, probe: np.ndarray, box: tuple[int, int, int, int], since: Optional[np.ndarray]) -> float:
        """Mean gray change along the matte's edge between ``since`` and ``probe`` (inf: no reference)."""
        if self._edge_ref is None or self._edge_ref[0] != box or since is None:
            return float("inf")
        band = self._edge_ref[2]
        if not band.any():
            return 0.0
        return float(cv2.mean(cv2.absdiff(probe, since), mask=band)[0])

    def _remember_edge(self, probe: np.ndarray, box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        alpha = cv2.resize(self._alpha[y0:y1, x0:x1], (probe.shape[1], probe.shape[0]), interpolation=cv2.INTER_AREA)
        band = cv2.dilate(cv2.inRange(alpha, EDGE_BAND[0], EDGE_BAND[1]), np.ones((3, 3), np.uint8), iterations=EDGE_DILATE)
        self._edge_ref = (box, probe, band)

    def _update_box(self, frame: np.ndarray, changed_box: tuple) -> np.ndarray:
        """Static path: refresh the matte around ``changed_box`` only.

        Change is measured along the matte's edge only (a cheap gray probe of the
        box), so mouth and eye motion inside the person costs nothing. When the
        edge moved (REFINE_DRIFT) the guided refinement re-runs in the box plus the
        filter's reach, snapping the edge to the warped face; when it drifted
        EDGE_DRIFT since the last model run (the jaw or hair moved), and at least
        every SEGMENT_MAX_GAP frames, the model re-runs too (only the box part of
        its input refreshed).
        """
        inner = self._expand(changed_box, False)
        if inner is None:
            return self._alpha
        probe = self._edge_probe(frame, inner)
        self._since_seg += 1
        seg_frame = self._since_seg >= SEGMENT_MAX_GAP or self._edge_drift(probe, inner, self._edge_ref and self._edge_ref[1]) > EDGE_DRIFT
        if not seg_frame and self._edge_drift(probe, inner, self._refined_probe) <= REFINE_DRIFT:
            return self._alpha  # the edge has not moved since the last refinement: the matte stands
        box = self._expand(changed_box, True) if seg_frame else inner
        if seg_frame:
            self._segment_static(frame, box)
            self._since_seg = 0
        x0, y0, x1, y1 = box
        fresh = self._refine_box(frame, box, None if seg_frame else probe)  # between model runs box is inner: reuse the probe
        weight = self._feather(box, BOX_FEATHER_PX if seg_frame else self._ring_px())
        region = self._alpha[y0:y1, x0:x1]
        region += weight * (fresh - region)
        if seg_frame:
            self._remember_edge(probe, inner)
        self._refined_probe = probe
        self.refine_calls += 1
        self.last_update_box = box
        return self._alpha

    def update(self, frame: np.ndarray, changed_box: tuple | None = None) -> np.ndarray:
        """The matte for ``frame``; treat the returned array as read-only.

        Static: after the first frame only the region around the changed box is
        touched (see _update_box).
        """
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
            return self._update_box(frame, changed_box)
        if self.static:
            self._small = cv2.resize(frame, self.seg_size, interpolation=cv2.INTER_AREA)
            self.last_raw = self._run_model(self._small)
        else:
            self.last_raw = self.segment(frame)
        self.segment_calls += 1
        low = self._smooth(self.last_raw)
        self._alpha = self._refine(low, frame)
        if self.static:
            self._m_refine = self._remapped(low)
        self.last_update_box = (0, 0, self.size[0], self.size[1])
        return self._alpha

    def close(self) -> None:
        if self._segmenter is not None:
            try:
                self._segmenter.close()
            except Exception:  # closing a half-built graph must not mask the real error
                logger.debug("selfie segmentation close failed", exc_info=True)
            self._segmenter = None
