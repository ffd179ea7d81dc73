"""Shared vocabulary of the expression engines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# FER2013 order, which is also the mini-Xception output order.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass
class EngineStatus:
    """Whether one engine can run here; ``reason`` is non-empty whenever it cannot."""

    available: bool
    reason: str = ""
    path: str = ""
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"available": self.available, "reason": self.reason, "path": self.path, **self.detail}


@dataclass
class EngineOutput:
    """What one engine measured on one face."""

    blendshapes: dict[str, float] = field(default_factory=dict)
    head_pose: dict[str, float] | None = None  # yaw, pitch, roll in degrees
    source: str = ""
    neutral: float | None = None  # MediaPipe's "_neutral" score: no ARKit name, so not a blendshape key


def clip01(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def ramp(value: float, neutral: float, full: float) -> float:
    """0 at ``neutral``, 1 at ``full`` (either direction), clipped."""
    return clip01((value - neutral) / (full - neutral))


def expand_box(bbox: tuple[int, int, int, int], image_size: tuple[int, int], *, sx: float, sy_top: float, sy_bottom: float) -> tuple[int, int, int, int]:
    """A box grown by fractions of its size, clipped to the image."""
    x0, y0, x1, y1 = bbox
    w, h = x1 - x0, y1 - y0
    iw, ih = image_size
    return (max(0, int(x0 - sx * w)), max(0, int(y0 - sy_top * h)), min(iw, int(np.ceil(x1 + sx * w))), min(ih, int(np.ceil(y1 + sy_bottom * h))))


def normalise_probs(probs: dict[str, float]) -> dict[str, float]:
    total = sum(max(0.0, v) for v in probs.values())
    if total <= 0:
        return {k: (1.0 if k == "neutral" else 0.0) for k in EMOTIONS}
    return {k: float(max(0.0, probs.get(k, 0.0)) / total) for k in EMOTIONS}
