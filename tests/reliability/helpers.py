"""Assertions shared by the reliability tests."""

from __future__ import annotations

import json
from pathlib import Path


def assert_error(response, status: int, *words: str) -> dict:
    """The API's one error shape, with the status and words expected."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["success"] is False and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"]
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    return body


def stored_files(media_root) -> list[Path]:
    root = Path(media_root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
