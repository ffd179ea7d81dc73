"""Checkpoint file validation without loading the weights.

Recognises safetensors (8-byte little-endian header length + JSON header),
torch >= 1.6 zip archives (with a ``data.pkl`` member) and legacy pickles,
and explains what is wrong otherwise: missing, empty, a Git LFS pointer
(the repository was cloned without ``git lfs pull``), an HTML error page,
or a truncated download (zip central directory missing, safetensors data
shorter than the header's offsets).

Reasons reach API clients, so they name files through ``PathLabels``: under a
known root as that root's label (``models/wav2lip/``, ``PAKSA_SADTALKER_DIR/``),
elsewhere by the file name alone; never as an absolute server path.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import threading
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LFS_MAGIC = b"version https://git-lfs.github.com/spec/v1"
# A safetensors header larger than this is not a real header (the format caps it at 100 MB).
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"


# An absolute path in free text (a tool's error, an exception): a '/' that does not
# continue a word, URL or relative path, then path segments; the last one is kept.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])/(?:[^\s/'\"`()\[\]{},;:]+/)*(?P<name>[^\s/'\"`()\[\]{},;:]+)")


@dataclass(frozen=True)
class PathLabels:
    """How server paths appear in messages users see.

    A path under a known root reads as that root's label plus the rest (labels
    are project-relative folders such as ``models/`` or a setting such as
    ``PAKSA_SADTALKER_DIR/``; ``""`` stands for the project itself); any other
    path reads as its file name.
    """

    roots: tuple[tuple[str, str], ...] = ()  # (absolute root without trailing '/', label), longest root first

    @classmethod
    def of(cls, roots: Mapping[str | os.PathLike, str]) -> PathLabels:
        pairs = {os.path.abspath(root).rstrip("/") or "/": label for root, label in roots.items() if root}
        return cls(tuple(sorted(pairs.items(), key=lambda pair: -len(pair[0]))))

    def show(self, path: str | os.PathLike) -> str:
        text = os.path.abspath(path)
        for root, label in self.roots:
            if text == root:
                return label.rstrip("/") or "."
            if text.startswith(root + "/"):
                return label + text[len(root) + 1:]
        return Path(text).name

    def scrub(self, text: str) -> str:
        """``text`` with every absolute path replaced by its label or its file name."""
        for root, label in self.roots:
            text = text.replace(root + "/", label)
            text = re.sub(re.escape(root) + r"(?![\w.-])", label.rstrip("/") or ".", text)
        return _ABSOLUTE_PATH.sub(lambda m: m.group("name"), text)


NO_LABELS = PathLabels()


@dataclass(frozen=True)
class CheckpointCheck:
    path: Path
    ok: bool
    format: str  # safetensors | torch-zip | pickle | lfs-pointer | missing | empty | unknown
    reason: str = ""  # why it is unusable ('' when ok)
    size: int = 0


def is_lfs_pointer(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(LFS_MAGIC)) == LFS_MAGIC
    except OSError:
        return False


def validate_checkpoint(path: Path, labels: PathLabels = NO_LABELS) -> CheckpointCheck:
    """Whether ``path`` looks like a complete checkpoint file, and if not, why (naming it through ``labels``)."""
    path = Path(path)
    shown = labels.show(path)
    if not path.is_file():
        return CheckpointCheck(path, False, "missing", f"{shown}: file not found")
    size = path.stat().st_size
    if size == 0:
        return CheckpointCheck(path, False, "empty", f"{shown}: file is empty", 0)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(LFS_MAGIC):
        return CheckpointCheck(path, False, "lfs-pointer", f"{shown}: is a Git LFS pointer, not the weights (run `git lfs pull`)", size)
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return CheckpointCheck(path, False, "unknown", f"{shown}: is an HTML page, not weights (a failed download?)", size)
    if head.startswith(ZIP_MAGIC):
        return _check_zip(path, shown, size)
    if path.suffix == ".safetensors" or _plausible_safetensors(head, size):
        return _check_safetensors(path, shown, size)
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        # Legacy torch.save: pickled magic number, protocol, sys info, then the storages.
        # Without unpickling there is no end marker to test, so only the header is checked.
        return CheckpointCheck(path, True, "pickle", "", size)
    return CheckpointCheck(path, False, "unknown", f"{shown}: not a safetensors, torch zip or pickle file", size)


def _plausible_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 0 < n <= min(size - 8, MAX_SAFETENSORS_HEADER) and head[8:9] == b"{"


def _check_safetensors(path: Path, shown: str, size: int) -> CheckpointCheck:
    def bad(why: str) -> CheckpointCheck:
        return CheckpointCheck(path, False, "safetensors", f"{shown}: {why}", size)

    if size < 8:
        return bad("too short for a safetensors file (truncated?)")
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > MAX_SAFETENSORS_HEADER:
            return bad(f"safetensors header length {n} is implausible (not a safetensors file?)")
        if n > size - 8:
            return bad(f"truncated: the safetensors header needs {n} bytes, only {size - 8} present")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return bad(f"safetensors header is not valid JSON ({exc.__class__.__name__})")
    if not isinstance(header, dict):
        return bad("safetensors header is not a JSON object")
    data_len = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1]):
            return bad(f"tensor {name!r} has no valid data_offsets")
        end = max(end, int(offsets[1]))
    if end > data_len:
        return bad(f"truncated: tensors need {end} data bytes, only {data_len} present")
    return CheckpointCheck(path, True, "safetensors", "", size)


def _check_zip(path: Path, shown: str, size: int) -> CheckpointCheck:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        # The central directory sits at the end of a zip: a cut-off download loses it.
        return CheckpointCheck(path, False, "torch-zip", f"{shown}: truncated or corrupt zip ({exc})", size)
    if not any(i.filename == "data.pkl" or i.filename.endswith("/data.pkl") for i in infos):
        return CheckpointCheck(path, False, "torch-zip", f"{shown}: zip archive without data.pkl (not a torch checkpoint)", size)
    # Every member's data must lie inside the file.
    for info in infos:
        if info.header_offset + info.compress_size > size:
            return CheckpointCheck(path, False, "torch-zip", f"{shown}: truncated (member {info.filename} extends past the end)", size)
    return CheckpointCheck(path, True, "torch-zip", "", size)


_cache: dict[tuple[str, int, int, PathLabels], CheckpointCheck] = {}
_cache_lock = threading.Lock()


def validate_cached(path: Path, labels: PathLabels = NO_LABELS) -> CheckpointCheck:
    """``validate_checkpoint`` remembered per (path, size, mtime): cheap for repeated checks."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        return validate_checkpoint(path, labels)
    key = (str(path), st.st_size, st.st_mtime_ns, labels)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is None:
        hit = validate_checkpoint(path, labels)
        with _cache_lock:
            _cache[key] = hit
    return hit


def check_all(paths: Iterable[Path], labels: PathLabels = NO_LABELS) -> tuple[bool, str]:
    """(True, '') when every file validates, else (False, the reasons joined)."""
    problems = [c.reason for c in (validate_cached(p, labels) for p in paths) if not c.ok]
    return (not problems, "; ".join(problems))
