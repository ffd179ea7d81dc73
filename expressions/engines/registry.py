"""Which expression engines can run here, checked once and re-checked when a
model file appears, changes or disappears (a cheap stat fingerprint)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from expressions.engines import mediapipe_geometry, mediapipe_tasks, mini_xception, openseeface, threeddfa
from expressions.engines.common import EngineStatus
from expressions.model_files import models_dir

logger = logging.getLogger(__name__)

ENGINE_NAMES = ("mediapipe", "threeddfa", "openseeface", "mini_xception")

_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[tuple, EngineStatus]] = {}  # (models dir, engine) -> (fingerprint, status)


def models_fingerprint(models: Path) -> tuple:
    """(path, mtime, size) of every file an engine reads, and the openseeface listing."""
    paths = [
        mediapipe_tasks.task_path(models),
        mini_xception.mini_xception_path(models),
        *(threeddfa.model_dir(models) / n for n in (threeddfa.MODEL_NAME, threeddfa.MEAN_STD_NAME, threeddfa.BFM_NAME)),
    ]
    osf = models / "openseeface"
    if osf.is_dir():
        paths += sorted(osf.glob("lm_model*_opt.onnx"))
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def _mediapipe_status(models: Path) -> EngineStatus:
    try:
        import mediapipe as mp

        mp.solutions.face_mesh  # noqa: B018 - the geometry engine needs the legacy solution graph
    except Exception as exc:  # noqa: BLE001
        return EngineStatus(False, f"mediapipe cannot be imported: {exc}")
    # The geometric estimate always runs; FaceLandmarker replaces it when its bundle loads and runs.
    tasks = mediapipe_tasks.check(models)
    source = mediapipe_tasks.SOURCE if tasks.available else "face_mesh_geometry"
    count = mediapipe_tasks.BLENDSHAPE_COUNT if tasks.available else len(mediapipe_geometry.BLENDSHAPE_KEYS)
    fallback = "" if tasks.available else f"blendshapes from the face-mesh geometry, because {tasks.reason}"
    return EngineStatus(
        True,
        "",
        tasks.path if tasks.available else "",
        {
            "source": source,
            "blendshape_count": count,
            "fallback_reason": fallback,
            "face_landmarker_task": {"available": tasks.available, "reason": tasks.reason, "path": tasks.path},
        },
    )


def check_all(models: Path, names: tuple[str, ...] = ENGINE_NAMES) -> dict[str, EngineStatus]:
    checks = {"mediapipe": _mediapipe_status, "threeddfa": threeddfa.check, "openseeface": openseeface.check, "mini_xception": mini_xception.check}
    out = {}
    for name, fn in ((name, checks[name]) for name in names):
        try:
            out[name] = fn(models)
        except Exception as exc:  # noqa: BLE001 - a check must never take the others down
            logger.exception("availability check of %s failed", name)
            out[name] = EngineStatus(False, f"availability check failed: {exc}")
        if not out[name].available:
            logger.info("expression engine %s unavailable: %s", name, out[name].reason)
    return out


def engine_statuses(models: Path | None = None, *, refresh: bool = False,
                    only: tuple[str, ...] | None = None) -> dict[str, EngineStatus]:
    """Status of every engine (or of those in ``only``); cached until a model file changes (or ``refresh``).

    ``only`` lets a caller that needs one engine skip loading the others' models (a render
    needs the blendshape engine, not torch for the emotion classifier).
    """
    models = Path(models) if models else models_dir()
    fp = models_fingerprint(models)
    names = only or ENGINE_NAMES
    with _lock:
        entries = {name: _cache.get((str(models), name)) for name in names}
    cached = {name: entry[1] for name, entry in entries.items() if entry and entry[0] == fp}
    if len(cached) == len(names) and not refresh:
        return cached
    statuses = check_all(models, names)
    engine_statuses_adopt(models, fp, statuses)
    return statuses


def engine_statuses_adopt(models: Path, fingerprint: tuple, statuses: dict[str, EngineStatus]) -> None:
    """Cache statuses checked elsewhere (a throwaway child process: the web master's warm-up),
    against the fingerprint the models folder had before that check began."""
    with _lock:
        _cache.update({(str(models), name): (fingerprint, status) for name, status in statuses.items()})
