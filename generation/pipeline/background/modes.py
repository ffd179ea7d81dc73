"""Pure numpy/OpenCV image operations behind the background modes.

Everything here works on BGR ``uint8`` frames and float32 alpha maps in
[0, 1] (1 = keep the frame's pixel). Heavy blurs run at a quarter of the
frame size: a Gaussian of sigma >= 4 px loses nothing visible to that.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Blur work happens at 1/BLUR_DOWNSCALE of the frame; sigmas below are in those pixels.
BLUR_DOWNSCALE = 4
BLUR_SIGMA = 6.0  # ~24 px at full size: a strong, even background blur
PORTRAIT_SIGMAS = (1.5, 4.0, 8.0, 14.0)  # near the subject's edge -> far away
PORTRAIT_FALLOFF = 0.30  # fraction of the long side over which blur reaches the strongest level
POP_CONTRAST = 1.03  # Laplacian variance grows by POP_CONTRAST**2: keep the face near-identical
POP_SATURATION = 0.12
_EPS = 1e-4


def small_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    return max(8, round(w / BLUR_DOWNSCALE)), max(8, round(h / BLUR_DOWNSCALE))


def composite(frame: np.ndarray, background: np.ndarray, alpha: np.ndarray, inv_alpha: np.ndarray | None = None) -> np.ndarray:
    """``frame * alpha + background * (1 - alpha)``; blendLinear is ~5x faster than numpy."""
    if inv_alpha is None:
        inv_alpha = 1.0 - alpha
    return cv2.blendLinear(frame, background, alpha, inv_alpha)


def _fast_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur whose cost does not grow with sigma: wide blurs run on a smaller copy.

    Shrinking by f and blurring with sigma/f there is the same blur to the eye
    once upsampled (the image holds nothing finer than sigma afterwards).
    """
    if sigma <= 3.0:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    h, w = img.shape[:2]
    factor = sigma / 2.5
    sw, sh = max(2, round(w / factor)), max(2, round(h / factor))
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.3)  # plus the area/bilinear resampling ~= 2.5
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _masked_blurs(frame: np.ndarray, alpha: np.ndarray, sigmas: tuple[float, ...]) -> list[np.ndarray]:
    """Background-only (normalised) blurs at 1/4 size, one per sigma, float32.

    Blurring ``frame * (1 - alpha)`` and dividing by the blurred weight keeps the
    person's colours out of the background, so the subject leaves no halo; where
    the person covers a wide area a very wide blur of the surroundings fills in.
    """
    size = small_size((frame.shape[1], frame.shape[0]))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = 1.0 - cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    weight = np.clip(weight, 0.0, 1.0) ** 2  # uncertain edge pixels count little
    # Weight rides along as a 4th channel: one blur call per level instead of two.
    premult = np.dstack([small * weight[..., None], weight])
    fill_sigma = max(sigmas[-1] * 3.0, 0.12 * max(size))
    wide = _fast_blur(premult, fill_sigma)
    if float(wide[..., 3].min()) > _EPS:
        fill = wide[..., :3] / wide[..., 3:]
    else:  # hardly any background visible: fall back to a plain wide blur there
        fill = np.where(wide[..., 3:] > _EPS, wide[..., :3] / np.maximum(wide[..., 3:], _EPS), _fast_blur(small, fill_sigma))
    out = []
    for sigma in sigmas:
        blurred = _fast_blur(premult, sigma)
        den = blurred[..., 3:]
        # Blend to the wide fill where the local background evidence is thin.
        trust = np.clip(den * (1.0 / 0.15), 0.0, 1.0)
        local = blurred[..., :3] / np.maximum(den, _EPS)
        out.append(local * trust + fill * (1.0 - trust))
    return out


def blurred_background(frame: np.ndarray, alpha: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Strong halo-free background blur at full size, uint8."""
    (small,) = _masked_blurs(frame, alpha, (sigma,))
    return cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)


def portrait_background(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Depth-of-field background: blur grows with distance from the subject's edge.

    The distance transform of the (binarised) background gives each pixel a
    position between the blur levels; neighbouring levels are linearly blended.
    """
    levels = _masked_blurs(frame, alpha, PORTRAIT_SIGMAS)
    size = (levels[0].shape[1], levels[0].shape[0])
    small_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    background = (small_alpha < 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(background, cv2.DIST_L2, 3)
    pos = np.clip(dist / (PORTRAIT_FALLOFF * max(size)), 0.0, 1.0) * (len(levels) - 1)
    small = np.zeros_like(levels[0])
    for i, level in enumerate(levels):  # triangular weights: neighbouring levels blend linearly
        weight = np.clip(1.0 - np.abs(pos - i), 0.0, 1.0)
        small += level * weight[..., None]
    return cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)


_POP_LUT = np.clip(128.0 + (np.arange(256) - 128.0) * POP_CONTRAST, 0, 255).astype(np.uint8)
_LUMA_BGR = np.array([0.114, 0.587, 0.299], np.float32)  # OpenCV's BGR2GRAY weights
# (1 + s) I - s luma(I) as one 3x3 colour matrix: a single pass instead of two conversions and a blend.
_POP_MATRIX = ((1.0 + POP_SATURATION) * np.eye(3, dtype=np.float32) - POP_SATURATION * np.tile(_LUMA_BGR, (3, 1)))


def subject_pop(frame: np.ndarray) -> np.ndarray:
    """A small saturation lift around luma plus a slight contrast lift (used on the person)."""
    return cv2.LUT(cv2.transform(frame, _POP_MATRIX), _POP_LUT)


def cover_fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to cover ``size`` (w, h) keeping its aspect, then centre-crop."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih)
    sw, sh = max(w, math.ceil(iw * scale - 1e-6)), max(h, math.ceil(ih * scale - 1e-6))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (sw, sh), interpolation=interp)
    x0, y0 = (sw - w) // 2, (sh - h) // 2
    return np.ascontiguousarray(resized[y0:y0 + h, x0:x0 + w])


def letterbox_bar(size: tuple[int, int], aspect: float) -> int:
    """Height of each black bar that makes the picture ``aspect`` wide.

    bar = round((H - W / aspect) / 2), rounding half up (floor(x + 0.5)) rather
    than Python's banker's rounding so equal inputs always give the same bar; a
    frame already at least as wide as ``aspect`` gets no bars (0).
    """
    w, h = size
    excess = h - w / aspect
    if excess <= 0:
        return 0
    return int(math.floor(excess / 2.0 + 0.5))


def cinematic_grade_lut() -> np.ndarray:
    """A subtle teal/orange split tone (cool shadows, warm highlights) as a 3-channel LUT."""
    x = np.arange(256, dtype=np.float32) / 255.0
    bell = np.sin(np.pi * x)  # 0 at pure black/white: those stay put
    shadows, highlights = bell * (1.0 - x), bell * x
    s_curve = -0.03 * np.sin(2.0 * np.pi * x)  # gentle S-curve: darker shadows, brighter highlights
    b = x + s_curve + 0.045 * shadows - 0.045 * highlights
    g = x + s_curve + 0.015 * shadows + 0.01 * highlights
    r = x + s_curve - 0.03 * shadows + 0.05 * highlights
    lut = np.stack([b, g, r], axis=-1)
    return np.clip(lut * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def vignette(size: tuple[int, int], strength: float = 0.35) -> np.ndarray:
    """A 3-channel uint8 gain map (255 = unchanged) darkening the corners smoothly."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2) / math.sqrt(2.0)
    t = np.clip((r - 0.45) / 0.55, 0.0, 1.0)
    gain = 1.0 - strength * t * t * (3.0 - 2.0 * t)
    return cv2.cvtColor(np.clip(gain * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


DECONTAM_SIGMA = 3.0  # background estimate for edge pixels: local (~12 px), halo-free


def background_estimate(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What the original background looks like behind the subject's edge (person excluded)."""
    return blurred_background(frame, alpha, DECONTAM_SIGMA)


# Every partly transparent pixel is unmixed (at a = 0 or 1 the formula is the plain composite),
# so the whole-frame path and RegionCompositor's constants give the same picture.
UNMIX_BAND = (0.5 / 255.0, 254.5 / 255.0)


def replace_composite(frame: np.ndarray, background: np.ndarray, alpha: np.ndarray, bg_estimate: np.ndarray) -> np.ndarray:
    """The frame over a new ``background``, with edge pixels' old background unmixed.

    A soft matte alone shows the old wall as a light rim around hair once the
    background is replaced. In the edge band a pixel is I = a F + (1 - a) B_old, so
    F = (I - (1 - a) B_old) / a, clipped to 0..255, goes over the new background:
    a F + (1 - a) B_new = clip(I - (1 - a) B_old, 0, 255 a) + (1 - a) B_new
    (no division, so faint edge pixels cannot blow up; the clip keeps an
    underestimated old background from leaking through as a glow).
    Where a rounds to 0 or 1 it is the plain composite.
    """
    out = composite(frame, background, alpha)
    band = cv2.inRange(alpha, UNMIX_BAND[0], UNMIX_BAND[1])  # uint8 mask: ~10x cheaper than numpy booleans
    x, y, bw, bh = cv2.boundingRect(band)  # unmix only where edge pixels are
    if bw == 0 or bh == 0:
        return out
    sl = (slice(y, y + bh), slice(x, x + bw))
    a = cv2.cvtColor(alpha[sl], cv2.COLOR_GRAY2BGR)
    share = 1.0 - a
    fg = cv2.subtract(frame[sl], cv2.multiply(share, bg_estimate[sl], dtype=cv2.CV_32F), dtype=cv2.CV_32F)
    fg = cv2.min(cv2.max(fg, 0.0), a * 255.0)
    unmixed = cv2.add(fg, cv2.multiply(share, background[sl], dtype=cv2.CV_32F), dtype=cv2.CV_8U)  # rounds and saturates
    cv2.copyTo(unmixed, band[sl], out[sl])  # writes into the view
    return out


class RegionCompositor:
    """A static job's composite as per-pixel uint8 constants, so a region costs 2-3 SIMD ops.

    For a fixed matte and background the float composites above reduce to
      replace (color/image):  min(I -sat (1 - a) B_old, 255 a) +sat (1 - a) B_new
      blend   (blur/portrait): I * (255 a) / 255 +sat (1 - a) B_new
    (the first is replace_composite's unmixing, which at a = 1 or 0 is the plain
    composite; the 255 a cap bounds what faint pixels keep of the old wall).
    The constants are rebuilt only where the matte changed, in uint8 from the matte
    rounded to 1/255 (3x cheaper than float); rounding costs at most ~2 levels
    against the float path.
    """

    def __init__(self, background: np.ndarray, bg_estimate: np.ndarray | None = None):
        self.background = background
        self.bg_estimate = bg_estimate  # None: plain blend
        self._cap = np.zeros_like(background)  # 255 a, 3 channels
        self._k_new = np.zeros_like(background)
        self._k_old = np.zeros_like(background) if bg_estimate is not None else None

    def update(self, alpha: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Rebuild the constants inside ``box`` from the matte."""
        x0, y0, x1, y1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        # a >= 0: convertScaleAbs's abs is a no-op; it rounds and saturates to 255 a.
        cap = cv2.cvtColor(cv2.convertScaleAbs(alpha[sl], alpha=255.0), cv2.COLOR_GRAY2BGR)
        share = cv2.bitwise_not(cap)  # 255 (1 - a)
        self._cap[sl] = cap
        self._k_new[sl] = cv2.multiply(share, self.background[sl], scale=1.0 / 255.0)
        if self._k_old is not None:
            self._k_old[sl] = cv2.multiply(share, self.bg_estimate[sl], scale=1.0 / 255.0)

    def compose(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The composite of ``frame`` (the box's pixels) inside ``box``."""
        x0, y0, x1, y1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        if self._k_old is not None:
            return cv2.add(cv2.min(cv2.subtract(frame, self._k_old[sl]), self._cap[sl]), self._k_new[sl])
        return cv2.add(cv2.multiply(frame, self._cap[sl], scale=1.0 / 255.0), self._k_new[sl])
