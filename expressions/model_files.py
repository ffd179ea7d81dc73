"""Where expression models live, and whether a file there is really a model.

Django-free. Every check returns a reason string: ``""`` when the file looks
like the model, otherwise a sentence a user can act on (it names the path as
``display_path`` shows it: never absolute).
A Git LFS pointer, a truncated download and a file of the wrong format are
all told apart, because "the file is there" is not "the model can run".
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
REPO_ROOT = Path(__file__).resolve().parent.parent


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """The models directory: the argument, else ``PAKSA_MODELS_DIR``, else the repo's ``models/``."""
    if override:
        return Path(override)
    env = os.environ.get("PAKSA_MODELS_DIR", "").strip()
    return Path(env) if env else REPO_ROOT / "models"


def display_path(path: Path) -> str:
    """The path as users may see it, never the server's absolute path: relative to the
    repo when inside it, else under the ``PAKSA_MODELS_DIR`` it lies in, else its name."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        pass
    try:
        return f"PAKSA_MODELS_DIR/{resolved.relative_to(models_dir().resolve())}"
    except ValueError:
        return resolved.name


def is_lfs_pointer(path: Path) -> bool:
    """A Git LFS pointer is a small text file that starts with the spec URL."""
    try:
        if path.stat().st_size > 1024:
            return False
        with open(path, "rb") as fh:
            return fh.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX
    except OSError:
        return False


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def basic_file_reason(path: Path, *, min_bytes: int = 1) -> str:
    """Absent, empty, an LFS pointer or suspiciously small: the reason, else ''."""
    shown = display_path(path)
    if not path.exists():
        return f"{shown} is missing"
    if not path.is_file():
        return f"{shown} is not a file"
    if is_lfs_pointer(path):
        return f"{shown} is a Git LFS pointer, not the model (run `git lfs pull` or download the real file)"
    size = path.stat().st_size
    if size == 0:
        return f"{shown} is empty"
    if size < min_bytes:
        return f"{shown} is only {size} bytes; it looks truncated"
    return ""


def hdf5_reason(path: Path, *, expected_sha256: str | None = None) -> str:
    """An HDF5 Keras model file: signature, readable by h5py, has ``model_config`` and weights."""
    reason = basic_file_reason(path, min_bytes=1024)
    if reason:
        return reason
    shown = display_path(path)
    with open(path, "rb") as fh:
        if fh.read(8) != HDF5_SIGNATURE:
            return f"{shown} is not an HDF5 file"
    if expected_sha256 and sha256_of(path) != expected_sha256:
        return f"{shown} does not match the expected SHA-256 (corrupt or a different model); run `python manage.py fetch_models`"
    try:
        import h5py

        with h5py.File(path, "r") as fh:
            if "model_config" not in fh.attrs or "model_weights" not in fh:
                return f"{shown} is HDF5 but not a Keras model with weights"
    except (OSError, ValueError) as exc:
        return f"{shown} cannot be read as HDF5 ({exc}); it may be truncated"
    return ""


def zip_reason(path: Path, required_members: list[str]) -> str:
    """A zip archive (e.g. a MediaPipe .task bundle) whose required members are intact."""
    reason = basic_file_reason(path, min_bytes=22)
    if reason:
        return reason
    shown = display_path(path)
    if not zipfile.is_zipfile(path):
        return f"{shown} is not a zip archive; it may be truncated or the wrong file"
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [m for m in required_members if m not in names]
            if missing:
                return f"{shown} lacks {', '.join(missing)}; it is not the expected bundle"
            bad = zf.testzip()
            if bad is not None:
                return f"{shown} has a corrupt member {bad}"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"{shown} is a damaged zip archive ({exc})"
    return ""


def pickle_reason(path: Path, *, required_keys: dict[str, tuple[int, ...] | None]) -> tuple[str, dict | None]:
    """A pickled dict of numpy arrays with the given keys (shape checked where given).

    These pickles come from the user's own model download (3DDFA_V2 configs);
    loading a pickle runs code, so only files the user placed are ever read.
    """
    reason = basic_file_reason(path, min_bytes=16)
    if reason:
        return reason, None
    shown = display_path(path)
    import numpy as np

    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not this file"
        return f"{shown} cannot be unpickled ({type(exc).__name__}); it may be truncated", None
    if not isinstance(obj, dict):
        return f"{shown} is not a pickled dict", None
    for key, shape in required_keys.items():
        if key not in obj:
            return f"{shown} has no '{key}' entry", None
        arr = np.asarray(obj[key])
        if shape is not None and tuple(arr.reshape(-1).shape) != shape and tuple(arr.shape) != shape:
            return f"{shown} '{key}' has shape {arr.shape}, expected {shape}", None
    return "", obj
