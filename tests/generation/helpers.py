"""Helpers for generation tests: uploads from real media, and stored-file counts."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile


def upload(path: Path, name: str | None = None, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def stored_files(media_root: str) -> list[Path]:
    root = Path(media_root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
