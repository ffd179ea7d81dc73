"""Putting SadTalker's video into the output frame.

A full-frame video (``full``/``extfull``) is read at the output size. A face-crop
video (the ``crop`` retry of a failed full run) is pasted back into the photo where
SadTalker cut it out, as its own ``full`` mode does: its crop is an axis-aligned box
resized to a square, so a scale and an offset per axis place it. They are fitted
from the face mesh of the video's first frame against the photo's, on points that
speech does not move (eyes, brows, nose, forehead). When that fails (no face in the
crop, a poor fit), the crop is fitted into the frame whole, with blurred margins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from generation.pipeline import face as face_mod
from generation.pipeline import media
from generation.pipeline.types import EngineInput

logger = logging.getLogger(__name__)

# Mesh points that hold still while talking: eye corners, brows, nose bridge and tip, forehead, temples.
STILL_POINTS = [33, 133, 362, 263, 70, 105, 107, 300, 334, 336, 168, 6, 197, 1, 10, 109, 338, 234, 454]
MAX_RESIDUAL = 0.06  # of the inter-ocular distance: the worst RMS misfit of the placement
MAX_ANISOTROPY = 1.35  # SadTalker's crop box is near square; a larger x/y scale ratio is a wrong fit
FEATHER = 0.12  # of the pasted box's side: the soft edge blending it into the photo
GAIN_LIMITS = (0.85, 1.18)  # per-channel colour correction of the pasted video


@dataclass(frozen=True)
class Placement:
    """Where a crop video's pixels go: output = scale * crop + offset per axis, in continuous
    pixel coordinates (pixel i spans i..i+1, as the mesh's are); with a colour gain."""

    scale: tuple[float, float]
    offset: tuple[float, float]
    gain: tuple[float, float, float]

    def pasted_size(self, crop_size: tuple[int, int]) -> tuple[int, int]:
        """The crop's size in the output: frames are decoded at it (ffmpeg's filtered scaling, no aliasing)."""
        return (max(2, int(round(self.scale[0] * crop_size[0]))), max(2, int(round(self.scale[1] * crop_size[1]))))

    def matrix(self, crop_size: tuple[int, int]) -> np.ndarray:
        """cv2.warpAffine's matrix (pixel centres) from a frame at ``pasted_size`` into the output."""
        size = self.pasted_size(crop_size)
        rows = []
        for axis in (0, 1):
            a = self.scale[axis] * crop_size[axis] / size[axis]
            row = [0.0, 0.0, 0.5 * a + self.offset[axis] - 0.5]
            row[axis] = a
            rows.append(row)
        return np.array(rows, np.float64)


def is_fitted_size(inp: EngineInput, width: int, height: int) -> bool:
    """True when a video of this size has the output's aspect (read it scaled, as it is)."""
    w, h = inp.geometry.size
    return abs(width / float(height or 1) - w / float(h)) < 0.02 * (w / float(h))


def place_crop(first_frame: np.ndarray, inp: EngineInput) -> Placement | str:
    """Where the crop video sits in the output frame, or why it cannot be placed."""
    if inp.face is None:
        return "the photo's face mesh is unknown"
    crop_face = face_mod.detect_face(first_frame)
    if crop_face is None:
        return "no face found in SadTalker's crop"
    photo_points = face_mod.transform_face(inp.face, inp.geometry).points
    target = photo_points[STILL_POINTS]
    source = crop_face.points[STILL_POINTS]
    scale, offset, misfit = [], [], []
    for axis in (0, 1):
        design = np.stack([source[:, axis], np.ones(len(source))], axis=1)
        (a, b), *_ = np.linalg.lstsq(design, target[:, axis], rcond=None)
        scale.append(float(a))
        offset.append(float(b))
        misfit.append(target[:, axis] - design @ (a, b))
    iod = face_mod.inter_ocular_distance(photo_points)
    residual = float(np.sqrt(np.mean(np.square(misfit)) * 2)) / max(iod, 1e-6)
    if min(scale) <= 0 or max(scale) / min(scale) > MAX_ANISOTROPY:
        return f"the crop's fit is distorted (x/y scale {scale[0]:.2f}/{scale[1]:.2f})"
    if residual > MAX_RESIDUAL:
        return f"the crop's face does not match the photo's (misfit {residual:.2f} of the eye distance)"
    placement = Placement(scale=(scale[0], scale[1]), offset=(offset[0], offset[1]), gain=(1.0, 1.0, 1.0))
    return replace(placement, gain=_colour_gain(first_frame, inp, placement))


def _paste_alpha(placement: Placement, crop_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """(h, w, 1) float32: 1 inside the pasted box, easing to 0 over its outer FEATHER."""
    import cv2

    pw, ph = placement.pasted_size(crop_size)
    ys, xs = np.mgrid[0:ph, 0:pw].astype(np.float32)
    edge = np.minimum(np.minimum(xs + 0.5, pw - 0.5 - xs) / pw, np.minimum(ys + 0.5, ph - 0.5 - ys) / ph)
    ramp = np.clip(edge / FEATHER, 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    alpha = cv2.warpAffine(ramp, placement.matrix(crop_size), out_size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    return alpha[..., None]


def _colour_gain(first_frame: np.ndarray, inp: EngineInput, placement: Placement) -> tuple[float, float, float]:
    """Per-channel gain bringing the crop's colours to the photo's over the pasted box (SadTalker's renderer shifts them a little)."""
    import cv2

    crop_size = (first_frame.shape[1], first_frame.shape[0])
    photo = face_mod.crop_to_geometry(inp.image, inp.geometry).astype(np.float64)
    small = cv2.resize(first_frame, placement.pasted_size(crop_size), interpolation=cv2.INTER_AREA)
    warped = cv2.warpAffine(small, placement.matrix(crop_size), inp.geometry.size, flags=cv2.INTER_LINEAR).astype(np.float64)
    inside = _paste_alpha(placement, crop_size, inp.geometry.size)[..., 0] >= 1.0
    if inside.sum() < 64:
        return (1.0, 1.0, 1.0)
    ratio = photo[inside].mean(axis=0) / np.maximum(warped[inside].mean(axis=0), 1.0)
    return tuple(float(g) for g in np.clip(ratio, *GAIN_LIMITS))


def pasted_frames(video: Path, inp: EngineInput, placement: Placement, crop_size: tuple[int, int]) -> Iterator[np.ndarray]:
    """The crop video's frames pasted into the still photo at ``placement``."""
    import cv2

    photo = face_mod.crop_to_geometry(inp.image, inp.geometry).astype(np.float32)
    alpha = _paste_alpha(placement, crop_size, inp.geometry.size)
    keep = photo * (1.0 - alpha)
    gain = np.array(placement.gain, np.float32)
    matrix = placement.matrix(crop_size)
    for frame in media.read_frames(video, size=placement.pasted_size(crop_size), fps=inp.request.fps):
        warped = cv2.warpAffine(frame, matrix, inp.geometry.size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        yield np.clip(keep + warped.astype(np.float32) * gain * alpha + 0.5, 0, 255).astype(np.uint8)


def pasted_box(placement: Placement, crop_size: tuple[int, int], out_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The output pixels a pasted crop may change (x0, y0, x1, y1)."""
    (sx, sy), (ox, oy) = placement.scale, placement.offset
    x0, x1 = sorted((ox, ox + sx * crop_size[0]))
    y0, y1 = sorted((oy, oy + sy * crop_size[1]))
    w, h = out_size
    return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1))))


def letterboxed_frames(video: Path, inp: EngineInput, video_size: tuple[int, int]) -> Iterator[np.ndarray]:
    """A video of another aspect fitted whole into the output frame (not stretched); a blurred, covering copy of its first frame fills the margins."""
    import cv2

    w, h = inp.geometry.size
    scale = min(w / video_size[0], h / video_size[1])
    fw, fh = max(2, int(video_size[0] * scale) // 2 * 2), max(2, int(video_size[1] * scale) // 2 * 2)
    ox, oy = (w - fw) // 2, (h - fh) // 2
    backdrop = None
    for frame in media.read_frames(video, size=(fw, fh), fps=inp.request.fps):
        if backdrop is None:
            cover = max(w / fw, h / fh)
            big = cv2.resize(frame, (int(np.ceil(fw * cover)), int(np.ceil(fh * cover))))
            bx, by = (big.shape[1] - w) // 2, (big.shape[0] - h) // 2
            backdrop = cv2.GaussianBlur(big[by:by + h, bx:bx + w], (0, 0), 25)
        out = backdrop.copy()
        out[oy:oy + fh, ox:ox + fw] = frame
        yield out
