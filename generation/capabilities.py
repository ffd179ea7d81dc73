"""What can run on this server right now: engines, models, ffmpeg. Every flag is
backed by a real check (code imports, model file validates). Building it imports
no torch, scipy or onnxruntime, and its text names no server path."""

from __future__ import annotations

import logging

from django.conf import settings

from generation.pipeline import media

logger = logging.getLogger(__name__)

# ffmpeg filters features rely on: captions burn-in, chroma key reference, scaling.
RELEVANT_FILTERS = ("subtitles", "ass", "chromakey", "colorkey", "scale", "gblur", "boxblur", "vignette", "overlay", "fps", "pad", "crop")


def capabilities_get() -> dict:
    from expressions.selectors import expression_capabilities
    from generation.engines import engines_get, path_labels

    engines = engines_get()
    engine_flags = {}
    for name, engine in engines.items():
        availability = engine.availability()
        engine_flags[name] = {"available": availability.available, "reason": availability.reason, **availability.detail}
    sadtalker = engines["sadtalker"]
    weights_ok, weights_reason = sadtalker.weights_status(256, (settings.PAKSA_PREPROCESS, "crop"))
    expressions = expression_capabilities()
    reasons = {name: info["reason"] for name, info in engine_flags.items() if not info["available"]}
    reasons.update({name: info.get("reason", "") for name, info in expressions.items() if not info.get("available")})
    if not weights_ok:
        reasons["sadtalker_weights"] = weights_reason
    reasons["emage"] = "EMAGE (gesture generation) is not part of this server."
    models = {
        "sadtalker": engine_flags["sadtalker"]["available"],
        "sadtalker_weights": weights_ok,
        "wav2lip2": engine_flags["wav2lip"]["available"],
        "emage": False,
        "native": engine_flags["native"]["available"],
        "mediapipe": bool(expressions.get("mediapipe", {}).get("available")),
        "threeddfa": bool(expressions.get("threeddfa", {}).get("available")),
        "openseeface": bool(expressions.get("openseeface", {}).get("available")),
        "mini_xception": bool(expressions.get("mini_xception", {}).get("available")),
    }
    version = media.ffmpeg_version()
    filters = media.ffmpeg_filters()
    return _public({
        "models": models,
        "reasons": reasons,
        "engines": engine_flags,
        "engine_order": ["sadtalker", "wav2lip", "native", "still"],
        "expressions": expressions,
        "ffmpeg": {"available": bool(version), "version": version, "filters": {name: name in filters for name in RELEVANT_FILTERS}},
        "background": _background_capabilities(),
        # The studio asks for a key when one is needed (this route itself stays public).
        "auth": {"api_key_required": bool(settings.PAKSA_API_KEYS)},
    }, path_labels())


def _public(value, labels):
    """Every string in the answer with server paths shown as labels (reasons quote libraries' own words)."""
    if isinstance(value, str):
        return labels.scrub(value)
    if isinstance(value, dict):
        return {key: _public(item, labels) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_public(item, labels) for item in value]
    return value


def _background_capabilities() -> dict:
    from generation.pipeline.background.compose import background_capabilities

    return background_capabilities()
