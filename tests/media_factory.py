"""Real test media made on the fly: the scikit-image astronaut and espeak-ng speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

SENTENCES = "Hello there. My name is Paksa. I can speak any sentence you type, and my lips will follow."


def astronaut_bgr() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def write_astronaut(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), astronaut_bgr())
    return path


def espeak_wav(path: Path, text: str = SENTENCES, *, voice: str = "en-us", words_per_minute: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text], check=True, capture_output=True)
    return path


def faceless_image(path: Path, size: int = 256) -> Path:
    """A smooth gradient with shapes: an image, but no face."""
    import cv2

    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    cv2.rectangle(img, (40, 40), (120, 200), (20, 200, 20), -1)
    cv2.imwrite(str(path), img)
    return path
