"""Background post-process stage: runs after any engine on BGR frames of the output size.

Modes (choices.BACKGROUND_MODES):
  none       frames pass through unchanged
  blur       strong halo-free Gaussian blur behind the person
  portrait   depth-of-field: blur grows with distance from the subject's edge, plus a slight subject pop
  cinematic  letterbox to ``options.aspect`` (black bars), subtle teal/orange grade and a vignette
  color      solid ``options.color`` behind the person
  image      ``options.image_path`` cover-fitted behind the person
  chroma     ffmpeg-``chromakey``-style keying of ``options.chroma_color`` with despill, over
             ``image_path`` if set, else ``options.color`` (black unless given)

blur/portrait/color/image need a person matte (mask.PersonMasker). With
``static_background=True`` (the engine never moves the background, e.g. the native
engine) the matte, the blurred background, the chroma alpha and a whole composite are
made from the first frame, once per job; later frames only refresh the ``changed_box``
the engine reports: the matte is updated there only when its edge moved, and the region
is composited from per-pixel uint8 constants (modes.RegionCompositor) onto the cached
output. That costs about 1 ms per 720p frame against 20-30 ms for a whole composite.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from generation.pipeline.background import modes
from generation.pipeline.background.chroma import DESPILL_BAND_PX, chroma_alpha, despill, edge_band, key_uv
from generation.pipeline.background.colors import COLOR_FORMATS, CSS_COLORS, parse_color
from generation.pipeline.background.mask import PersonMasker, create_segmenter, has_guided_filter
from generation.pipeline.choices import BACKGROUND_MODES
from generation.pipeline.errors import EngineFailed, InvalidInput, InvalidOption, UnsupportedInput
from generation.pipeline.types import BackgroundOptions

logger = logging.getLogger(__name__)

__all__ = [
    "BackgroundStage", "parse_color", "validate_options", "background_capabilities", "load_cover_image", "CSS_COLORS", "COLOR_FORMATS", "SEGMENTATION_MODES",
]

SEGMENTATION_MODES = ("blur", "portrait", "color", "image")
# Static: each frame checks every CHECK_STRIDE-th row (rotating) for changes outside the engine's box:
# a change CHECK_STRIDE rows tall is seen at once, any change within CHECK_STRIDE frames.
CHECK_STRIDE = 8
ASPECT_RANGE = (1.0, 4.0)


def _as_color(value, what: str) -> tuple[int, int, int]:
    if isinstance(value, (tuple, list)) and len(value) == 3 and all(isinstance(c, (int, np.integer)) and 0 <= c <= 255 for c in value):
        return tuple(int(c) for c in value)  # already BGR
    if isinstance(value, str):
        return parse_color(value)
    raise InvalidOption(f"Invalid {what} {value!r}: use {COLOR_FORMATS}.", extra={"formats": COLOR_FORMATS})


def _check_mode(mode) -> str:
    text = str(mode or "none").strip().lower()
    if text not in BACKGROUND_MODES:
        valid = ", ".join(BACKGROUND_MODES)
        raise InvalidOption(f"Unknown background mode {mode!r}; valid values: {valid}.", extra={"valid": list(BACKGROUND_MODES)})
    return text


def _check_range(name: str, value, lo: float, hi: float, *, lo_open: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidOption(f"{name} must be a number between {lo} and {hi}.") from None
    if not np.isfinite(number) or number > hi or number < lo or (lo_open and number <= lo):
        bound = f"above {lo}" if lo_open else f"at least {lo}"
        raise InvalidOption(f"{name} must be {bound} and at most {hi}, got {value!r}.")
    return number


def validate_options(
    mode: str,
    color=None,
    image_path: str | Path | None = None,
    chroma_color=None,
    similarity: float | None = None,
    blend: float | None = None,
    aspect: float | None = None,
) -> BackgroundOptions:
    """Checked BackgroundOptions from user values (colours as strings or BGR tuples).

    Raises InvalidOption (422) for an unknown mode or a malformed value, InvalidInput
    (400) when ``image`` mode has no image or an image path does not exist, and
    UnsupportedInput (415) when the image cannot be decoded. ``color`` mode without
    a colour and ``chroma`` without colour or image composite over black (the
    documented default); in ``chroma`` an image wins over a colour.
    """
    mode = _check_mode(mode)
    defaults = BackgroundOptions()
    opts = BackgroundOptions(mode=mode)
    opts.color = _as_color(color, "colour") if color not in (None, "") else defaults.color
    opts.chroma_color = _as_color(chroma_color, "chroma colour") if chroma_color not in (None, "") else defaults.chroma_color
    opts.similarity = _check_range("similarity", defaults.similarity if similarity is None else similarity, 0.0, 1.0, lo_open=True)
    opts.blend = _check_range("blend", defaults.blend if blend is None else blend, 0.0, 1.0)
    opts.aspect = _check_range("aspect", defaults.aspect if aspect is None else aspect, *ASPECT_RANGE)
    if image_path not in (None, ""):
        path = Path(image_path)
        if not path.is_file():
            raise InvalidInput(f"Background image {path.name!r} does not exist.")
        if mode in ("image", "chroma"):
            load_cover_image(path, (16, 16))  # decodes once: a bad file fails now, not mid-render
        opts.image_path = path
    elif mode == "image":
        raise InvalidInput("Background mode 'image' needs a background image.")
    return opts


def load_cover_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The image at ``path`` cover-fitted to ``size`` (BGR); UnsupportedInput if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UnsupportedInput(f"Background image {Path(path).name!r} is not an image OpenCV can read.")
    return modes.cover_fit(image, size)


Box = tuple[int, int, int, int]


def _clamp_box(box, size: tuple[int, int]) -> Optional[Box]:
    w, h = size
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _union(a: Optional[Box], b: Optional[Box]) -> Optional[Box]:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _same_outside(frame: np.ndarray, prev: np.ndarray, box: Box, phase: int = 0, stride: int = 1) -> bool:
    """True when ``frame`` equals ``prev`` outside ``box`` on rows ``phase::stride`` (no copies).

    A rotating phase checks every row once per ``stride`` frames at 1/stride of the
    memory traffic: a full-frame compare per frame is a sizeable share of a
    region update at 1080p.
    """
    x0, y0, x1, y1 = box
    p = phase % stride
    above = slice(p, y0, stride)
    below = slice(y1 + (p - y1) % stride, None, stride)
    side = slice(y0 + (p - y0) % stride, y1, stride)
    strips = ((above, slice(None)), (below, slice(None)), (side, slice(0, x0)), (side, slice(x1, None)))
    for rows, cols in strips:
        a, b = frame[rows, cols], prev[rows, cols]
        if a.size and cv2.norm(a, b, cv2.NORM_INF) != 0:
            return False
    return True


class BackgroundStage:
    """Applies one job's background mode to every output frame (one instance per job).

    With ``static_background`` the stage keeps the last output and frame: when the
    new frame differs from the previous one only inside ``changed_box`` (checked,
    not assumed) just that region (grown by the matte's update margin) is
    recomposited; otherwise the whole frame is, so the result always equals a full
    composite with the cached matte/background.
    """

    def __init__(self, options: BackgroundOptions, size: tuple[int, int], *, static_background: bool = False):
        self.options = options
        self.mode = _check_mode(options.mode)
        self.size = (int(size[0]), int(size[1]))
        self.static = static_background
        w, h = self.size
        self._masker: Optional[PersonMasker] = None
        self._backdrop: Optional[np.ndarray] = None
        self._bg_cache: Optional[np.ndarray] = None  # static blur/portrait background
        self._chroma: Optional[np.ndarray] = None  # static chroma alpha
        self._bg_est: Optional[np.ndarray] = None  # old background behind edges (color/image)
        self._out: Optional[np.ndarray] = None  # static: last output and the frame it came from
        self._prev: Optional[np.ndarray] = None
        self.last_alpha: Optional[np.ndarray] = None  # the matte used for the last frame
        self._region_comp: Optional[modes.RegionCompositor] = None  # static segmentation modes
        self._dirty: Optional[Box] = None  # where the matte changed since the compositor last saw it
        self._frames = 0
        self.region_updates = 0  # static frames served by recompositing only the changed region
        if self.mode in SEGMENTATION_MODES:
            self._masker = PersonMasker(self.size, static=static_background)
        if self.mode == "color" or (self.mode == "chroma" and options.image_path is None):
            self._backdrop = np.full((h, w, 3), options.color, np.uint8)
        elif self.mode in ("image", "chroma"):
            if options.image_path is None:
                raise InvalidInput("Background mode 'image' needs a background image.")
            self._backdrop = load_cover_image(options.image_path, self.size)
        if self.mode == "cinematic":
            self.bar = modes.letterbox_bar(self.size, options.aspect)
            self._lut = modes.cinematic_grade_lut()
            self._vignette = modes.vignette((w, h - 2 * self.bar))
        if self.mode == "chroma":
            self._key_uv = key_uv(options.chroma_color)

    def apply(self, frame: np.ndarray, changed_box: tuple | None = None) -> np.ndarray:
        """The frame with the background mode applied (a new array unless mode is none).

        ``changed_box`` (x0, y0, x1, y1) only matters with static_background: the
        region whose pixels the engine moved this frame; None means nothing moved.
        """
        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise EngineFailed(f"background stage expects {self.size[0]}x{self.size[1]} BGR uint8 frames, got {frame.shape} {frame.dtype}")
        if self.mode == "none":
            return frame
        if self.mode == "cinematic" and not self.static:
            return self._cinematic(frame, None)
        box = _clamp_box(changed_box, self.size) if changed_box is not None else None
        first = self._out is None
        if self.mode == "cinematic":
            alpha, region = None, box  # a per-pixel grade: only changed pixels change
        elif self.mode == "chroma":
            alpha, region = self._chroma_matte(frame, box)
        else:
            alpha = self._masker.update(frame, box)
            region = _union(box, self._masker.last_update_box)
            if self.static:  # the region compositor's constants are stale there
                self._dirty = _union(self._dirty, self._masker.last_update_box)
        self.last_alpha = alpha
        if self.static and not first and _same_outside(frame, self._prev, region or (0, 0, 0, 0), self._frames, CHECK_STRIDE):
            if region is not None:
                x0, y0, x1, y1 = region
                self._out[y0:y1, x0:x1] = self._compose(frame, alpha, region)
                self._prev[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
            self.region_updates += 1
            self._frames += 1
            return self._out.copy()  # callers may draw on their frame; the cache stays ours
        out = self._compose(frame, alpha, None)
        if self.static:
            self._out, self._prev = out, frame.copy()
            return out.copy()
        return out

    def _compose(self, frame: np.ndarray, alpha: Optional[np.ndarray], region: Optional[Box]) -> np.ndarray:
        """The composite of the whole frame, or of ``region`` only (same pixels either way)."""
        if self.mode == "cinematic":
            return self._cinematic(frame, region)
        if self.mode == "chroma":
            sl = (slice(None), slice(None)) if region is None else (slice(region[1], region[3]), slice(region[0], region[2]))
            return modes.composite(self._despilled(frame, alpha, region), self._backdrop[sl], alpha[sl])
        # Segmentation modes. Static: the backgrounds come from the first frame, once per job,
        # and every composite (the first whole, then regions) goes through the uint8 constants.
        if self.mode in ("blur", "portrait") and (self._bg_cache is None or not self.static):
            make = modes.blurred_background if self.mode == "blur" else modes.portrait_background
            self._bg_cache = make(frame, alpha)
        if self.mode in ("color", "image") and (self._bg_est is None or not self.static):
            self._bg_est = modes.background_estimate(frame, alpha)
        if self.static:
            return self._compose_static(frame, alpha, region or (0, 0, self.size[0], self.size[1]))
        if self.mode in ("color", "image"):
            return modes.replace_composite(frame, self._backdrop, alpha, self._bg_est)
        return modes.composite(modes.subject_pop(frame) if self.mode == "portrait" else frame, self._bg_cache, alpha)

    def _compose_static(self, frame: np.ndarray, alpha: np.ndarray, region: Box) -> np.ndarray:
        """A region of a static job via uint8 constants rebuilt only where the matte changed."""
        if self._region_comp is None:
            bg = self._bg_cache if self.mode in ("blur", "portrait") else self._backdrop
            self._region_comp = modes.RegionCompositor(bg, self._bg_est if self.mode in ("color", "image") else None)
            self._dirty = (0, 0, self.size[0], self.size[1])
        if self._dirty is not None:
            self._region_comp.update(alpha, self._dirty)
            self._dirty = None
        x0, y0, x1, y1 = region
        fg = frame[y0:y1, x0:x1]
        if self.mode == "portrait":
            fg = modes.subject_pop(fg)
        return self._region_comp.compose(fg, region)

    def _cinematic(self, frame: np.ndarray, region: Optional[Box]) -> np.ndarray:
        """Graded, vignetted picture between exactly black bars; whole frame or ``region``."""
        w, h = self.size
        x0, y0, x1, y1 = region or (0, 0, w, h)
        out = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)  # bars: exactly black
        top, bottom = max(y0, self.bar), min(y1, h - self.bar)
        if bottom > top:
            picture = cv2.LUT(frame[top:bottom, x0:x1], self._lut)
            gain = self._vignette[top - self.bar:bottom - self.bar, x0:x1]
            out[top - y0:bottom - y0] = cv2.multiply(picture, gain, scale=1.0 / 255.0)
        return out

    def _chroma_matte(self, frame: np.ndarray, box: Optional[Box]) -> tuple[np.ndarray, Optional[Box]]:
        """Key alpha and the region whose output may change (static: the box plus despill reach)."""
        opts = self.options
        w, h = self.size
        if not self.static or self._chroma is None:
            alpha = chroma_alpha(frame, self._key_uv, opts.similarity, opts.blend)
            if self.static:
                self._chroma = alpha
            return alpha, (0, 0, w, h)
        alpha = self._chroma
        if box is None:
            return alpha, None
        x0, y0, x1, y1 = box
        # Changed pixels move the 3x3 mean one pixel further; read one more for context.
        ax0, ay0, ax1, ay1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
        cx0, cy0, cx1, cy1 = max(0, ax0 - 1), max(0, ay0 - 1), min(w, ax1 + 1), min(h, ay1 + 1)
        fresh = chroma_alpha(frame[cy0:cy1, cx0:cx1], self._key_uv, opts.similarity, opts.blend)
        alpha[ay0:ay1, ax0:ax1] = fresh[ay0 - cy0:ay1 - cy0, ax0 - cx0:ax1 - cx0]
        # The despill band is a dilation of partly keyed pixels: it reaches DESPILL_BAND_PX further.
        reach = DESPILL_BAND_PX + 1
        return alpha, (max(0, ax0 - reach), max(0, ay0 - reach), min(w, ax1 + reach), min(h, ay1 + reach))

    def _despilled(self, frame: np.ndarray, alpha: np.ndarray, region: Optional[Box]) -> np.ndarray:
        if region is None:
            return despill(frame, edge_band(alpha), self.options.chroma_color)
        w, h = self.size
        x0, y0, x1, y1 = region
        pad = DESPILL_BAND_PX + 1  # the band near the region's border depends on pixels outside it
        px0, py0, px1, py1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
        band = edge_band(alpha[py0:py1, px0:px1])[y0 - py0:y1 - py0, x0 - px0:x1 - px0]
        return despill(frame[y0:y1, x0:x1], band, self.options.chroma_color)

    def close(self) -> None:
        if self._masker is not None:
            self._masker.close()
            self._masker = None
        self._bg_cache = self._chroma = self._backdrop = self._out = self._prev = self._bg_est = None
        self._region_comp = None

    def __enter__(self) -> BackgroundStage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.lru_cache(maxsize=1)
def _segmentation_status() -> tuple[bool, str]:
    """Whether selfie segmentation loads and runs here (checked once per process)."""
    try:
        segmenter = create_segmenter(0)
        try:
            segmenter.process(np.zeros((64, 64, 3), np.uint8))
        finally:
            segmenter.close()
    except Exception as exc:
        logger.warning("background segmentation unavailable: %s", exc)
        return False, str(exc)
    import mediapipe as mp

    return True, f"mediapipe {mp.__version__} selfie_segmentation (general model, bundled)"


@functools.lru_cache(maxsize=1)
def background_capabilities() -> dict:
    """Per mode: can it run here, what it needs. Checked once and cached.

    All modes are implemented in numpy/OpenCV, so none depends on an ffmpeg
    filter; chroma follows ffmpeg's ``chromakey`` semantics and the report says
    whether that reference filter exists in the local ffmpeg.
    """
    from generation.pipeline import media

    seg_ok, seg_detail = _segmentation_status()
    filters = media.ffmpeg_filters()
    report_modes = {}
    for mode in BACKGROUND_MODES:
        needs_seg = mode in SEGMENTATION_MODES
        entry = {
            "available": seg_ok if needs_seg else True,
            "needs_segmentation": needs_seg,
            "implementation": "passthrough" if mode == "none" else "numpy/OpenCV",
            "ffmpeg_filters": [],
        }
        if needs_seg and not seg_ok:
            entry["reason"] = f"person segmentation unavailable: {seg_detail}"
        if mode == "chroma":
            entry["reference_filter"] = {"name": "chromakey", "available": "chromakey" in filters}
        report_modes[mode] = entry
    return {
        "segmentation": {"available": seg_ok, "detail": seg_detail},
        "edge_refine": "guided filter (opencv-contrib ximgproc)" if has_guided_filter() else "gaussian feather",
        "modes": report_modes,
    }
