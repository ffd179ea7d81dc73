"""Reads: which expression engines can run here."""

from __future__ import annotations

from pathlib import Path

from expressions.engines.registry import ENGINE_NAMES, engine_statuses
from expressions.model_files import models_dir


def configured_models_dir() -> Path:
    """Django's ``PAKSA_MODELS_DIR`` / ``MODELS_DIR`` setting when set, else the env var / repo default."""
    try:
        from django.conf import settings

        value = getattr(settings, "PAKSA_MODELS_DIR", None) or getattr(settings, "MODELS_DIR", None)
    except Exception:  # noqa: BLE001 - settings not configured (scripts, Django-free tests)
        value = None
    return models_dir(value)


def expression_capabilities(*, refresh: bool = False, models: Path | None = None,
                            only: tuple[str, ...] | None = None) -> dict[str, dict]:
    """``{engine: {available, reason, path, ...}}`` for mediapipe, threeddfa, openseeface, mini_xception.

    Cached; re-checked when a model file changes, or on ``refresh=True``.
    ``available`` is true only when the model file loaded and ran.
    """
    statuses = engine_statuses(models or configured_models_dir(), refresh=refresh, only=only)
    return {name: statuses[name].as_dict() for name in (only or ENGINE_NAMES)}
