"""Benchmark inputs made on the fly: the scikit-image astronaut and espeak-ng speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

PARAGRAPH = (
    "Good morning, and welcome to this short update. Today we will look at how the project is going, "
    "what we shipped this week, and what comes next. The new release makes every photo speak on an "
    "ordinary laptop, without a graphics card, and it tells you exactly what it did. "
)


def astronaut_png(path: Path) -> Path:
    import cv2
    from skimage import data

    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def speech_text(seconds: float) -> str:
    """Text that espeak-ng at 150 wpm speaks for about ``seconds`` (measured: ~3.2 words a second)."""
    words = PARAGRAPH.split()
    wanted = max(4, int(seconds * 3.2))
    return " ".join((words * (wanted // len(words) + 1))[:wanted]).rstrip(",") + "."


def speech_wav(path: Path, seconds: float) -> tuple[Path, str]:
    text = speech_text(seconds)
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    return path, text
