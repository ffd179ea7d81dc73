"""How alive a rendered talking head looks, measured on its own pixels.

The face mesh (with irises) is re-detected on every output frame, then:

- head turn: std of the nose tip's offset from the eye midpoint along the eye
  axis, over the inter-ocular distance (in-plane tilt and slide leave it alone);
- nod: the same across the eye axis;
- gaze shifts per minute: jumps of the irises within the eye openings;
- mouth-interior corner ratio: luminance of the inner-lip area's outer fifths
  over its middle fifth, on the most open frames (a real mouth darkens toward
  its corners);
- face-found rate, and the aperture-RMS correlation of the lip-sync report.

Django-free; ``realism_report`` (the management command) prints the result.
Per-emotion readings (FaceLandmarker blendshapes) live in ``blendshapes``.
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path

import numpy as np

from generation.pipeline import media
from generation.pipeline.errors import MediaError
from generation.pipeline.face import (
    LEFT_EYE_CORNERS,
    LEFT_IRIS_CENTER,
    LIPS_INNER,
    NOSE_TIP,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS_CENTER,
)
from generation.pipeline.measure.lipsync import detect_meshes, eye_openness, frame_rms, lagged_correlation, mouth_aperture

logger = logging.getLogger(__name__)

OPEN_SHARE = 0.1  # the corner ratio is read on this share of the frames, the most open ones
MIN_OPEN_APERTURE = 0.12  # ... and only where the lips are apart this far (inter-ocular units)
GAZE_JUMP = 0.035  # an iris move of this share of the eye width (three-frame means) is a shift
GAZE_SPAN_S = 0.6  # ... between frames at most this far apart (a blink's gap fits)
# Frames with eyes below this share of their median openness carry no gaze, nor do the BLINK_MARGIN
# frames either side. The detector reads a shut eye that was narrowed (anger, a squint) as still 0.6-0.75
# open, and its iris follows the closing lid: a render whose painted irises never move then showed
# 2-3 "shifts" in 8 s at a lower bar and a one-frame margin.
BLINK_OPENNESS = 0.8
BLINK_MARGIN = 2

TARGETS = {
    "head_turn": (0.02, 0.08),
    "nod": (0.015, 0.06),
    "gaze_shifts_per_minute": (6.0, 40.0),
    "corner_ratio": (None, 0.7),
    "face_found_share": (0.98, None),
    "correlation_best": (0.6, None),
}


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, 5) if math.isfinite(value) else None



def _eye_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(eye midpoint, unit eye axis, unit axis across it (down), inter-ocular distance)."""
    right = points[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left = points[list(LEFT_EYE_CORNERS)].mean(axis=0)
    axis = left - right
    iod = float(np.linalg.norm(axis))
    u = axis / max(iod, 1e-9)
    return 0.5 * (left + right), u, np.array([-u[1], u[0]]), iod


def nose_offset(points: np.ndarray) -> tuple[float, float]:
    """The nose tip from the eye midpoint, (along, across) the eye axis, in inter-ocular units."""
    mid, u, v, iod = _eye_frame(points)
    d = points[NOSE_TIP] - mid
    return float(d @ u) / iod, float(d @ v) / iod


def iris_position(points: np.ndarray) -> tuple[float, float]:
    """Both irises within their eyes: (along, across) the eye axis from the eye centre, in eye widths."""
    if len(points) <= max(LEFT_IRIS_CENTER, RIGHT_IRIS_CENTER):
        return float("nan"), float("nan")
    _, u, v, _ = _eye_frame(points)
    out = []
    for (c0, c1), iris in ((RIGHT_EYE_CORNERS, RIGHT_IRIS_CENTER), (LEFT_EYE_CORNERS, LEFT_IRIS_CENTER)):
        centre = 0.5 * (points[c0] + points[c1])
        width = float(np.linalg.norm(points[c1] - points[c0]))
        d = (points[iris] - centre) / max(width, 1e-9)
        out.append((float(d @ u), float(d @ v)))
    return tuple(np.mean(out, axis=0))


def count_gaze_shifts(gaze: np.ndarray, openness: np.ndarray, fps: float) -> int:
    """Iris jumps: the mean iris position over three frames moving at least GAZE_JUMP eye widths
    from the three frames before, counted once per saccade.

    Frames around a blink are left out (a closing lid drags the detected iris), so a
    saccade made behind a blink is seen as the jump from just before to just after it.
    """
    valid = np.isfinite(gaze).all(axis=1) & np.isfinite(openness)
    if valid.any():
        valid &= openness >= BLINK_OPENNESS * float(np.median(openness[valid]))
    ok = valid.copy()  # neighbours of a blink frame are unreliable too
    for step in range(1, BLINK_MARGIN + 1):
        ok[step:] &= valid[:-step]
        ok[:-step] &= valid[step:]
    idx = np.flatnonzero(ok)
    if len(idx) < 6:
        return 0
    span = GAZE_SPAN_S * fps
    shifts, armed = 0, True
    for k in range(3, len(idx) - 2):
        window = idx[k - 3:k + 3]
        if window[-1] - window[0] > span:
            continue
        jump = float(np.linalg.norm(gaze[idx[k:k + 3]].mean(axis=0) - gaze[idx[k - 3:k]].mean(axis=0)))
        if jump >= GAZE_JUMP and armed:
            shifts += 1
            armed = False
        elif jump < 0.5 * GAZE_JUMP:
            armed = True  # the gaze has settled: the next jump is a new saccade
    return shifts


def most_open(aperture: np.ndarray) -> np.ndarray:
    """Indices of the frames the corner ratio is read on: the most open share, lips apart far enough."""
    idx = np.flatnonzero(np.isfinite(aperture) & (aperture >= MIN_OPEN_APERTURE))
    k = max(3, int(math.ceil(OPEN_SHARE * len(aperture))))
    return idx[np.argsort(aperture[idx])[::-1][:k]]


def mouth_corner_ratio(frames, meshes: list[np.ndarray | None], aperture: np.ndarray) -> float | None:
    """Mean luminance of the inner-lip area's outer fifths over its middle fifth, on the most open frames.

    ``frames`` is anything indexed by frame number that holds at least the ``most_open`` ones.
    """
    import cv2

    chosen = most_open(aperture)
    if len(chosen) == 0:
        return None
    outer_sum = middle_sum = 0.0
    outer_n = middle_n = 0
    for i in chosen:
        p = meshes[i]
        poly = p[LIPS_INNER]
        left, right = p[LIPS_INNER[0]], p[LIPS_INNER[10]]  # the inner-lip corners (78, 308)
        axis = right - left
        length = float(np.linalg.norm(axis))
        if length < 4:
            continue
        x0, y0 = np.floor(poly.min(axis=0)).astype(int)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
        h, w = frames[i].shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 2:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(poly - (x0, y0)).astype(np.int32)], 1)
        # Shrink by a pixel: the lips' own edge pixels are not the interior.
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        lum = cv2.cvtColor(frames[i][y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float64)
        ys, xs = np.nonzero(mask)
        if len(ys) < 10:
            continue
        t = ((np.stack([xs + x0, ys + y0], 1) - left) @ axis) / (length * length)  # 0 at one corner, 1 at the other
        outer = (t < 0.2) | (t > 0.8)
        middle = (t >= 0.4) & (t < 0.6)
        outer_sum += float(lum[ys[outer], xs[outer]].sum())
        outer_n += int(outer.sum())
        middle_sum += float(lum[ys[middle], xs[middle]].sum())
        middle_n += int(middle.sum())
    if outer_n == 0 or middle_n == 0 or middle_sum <= 0:
        return None
    return (outer_sum / outer_n) / (middle_sum / middle_n)


def realism_figures(frames, fps: float, meshes: list[np.ndarray | None] | None = None,
                    rms: np.ndarray | None = None) -> dict:
    """The figures of the module doc for decoded ``frames`` (``rms``: per-frame audio loudness, optional).

    With ``meshes`` given, ``frames`` need only hold the ``most_open`` frames, by index.
    """
    if meshes is None:
        meshes = detect_meshes(frames)
    n = len(meshes)
    found = [i for i, p in enumerate(meshes) if p is not None]
    nan2 = (float("nan"), float("nan"))
    offsets = np.array([nose_offset(p) if p is not None else nan2 for p in meshes]).reshape(-1, 2)
    gaze = np.array([iris_position(p) if p is not None else nan2 for p in meshes]).reshape(-1, 2)
    openness = np.array([np.mean(eye_openness(p)) if p is not None else np.nan for p in meshes])
    aperture = np.array([mouth_aperture(p) if p is not None else np.nan for p in meshes])
    minutes = n / float(fps) / 60.0 if n else 0.0
    shifts = count_gaze_shifts(gaze, openness, fps)
    report = {
        "frames": n,
        "fps": fps,
        "face_found_share": _num(len(found) / n) if n else 0.0,
        "head_turn": _num(np.nanstd(offsets[:, 0])) if found else None,
        "nod": _num(np.nanstd(offsets[:, 1])) if found else None,
        "gaze_shifts": shifts,
        "gaze_shifts_per_minute": _num(shifts / minutes) if minutes else None,
        "gaze_std": _num(np.sqrt(np.nanvar(gaze, axis=0).sum())) if found else None,
        "corner_ratio": _num(mouth_corner_ratio(frames, meshes, aperture)),
        "aperture_max": _num(np.nanmax(aperture)) if found else None,
    }
    if rms is not None and found:
        lag0, best, lag = lagged_correlation(aperture, rms[:n])
        report.update(correlation_lag0=_num(lag0), correlation_best=_num(best), best_lag_frames=lag)
    return report


def meets_targets(report: dict) -> dict[str, bool | None]:
    """Each figure against its target range (None where the figure is missing)."""
    out: dict[str, bool | None] = {}
    for name, (lo, hi) in TARGETS.items():
        value = report.get(name)
        if value is None:
            out[name] = None
            continue
        out[name] = (lo is None or value >= lo) and (hi is None or value <= hi)
    return out


def read_video(video: Path) -> tuple[list[np.ndarray], float]:
    """All frames of ``video`` (BGR) at its own (integer) frame rate: for short clips only."""
    info, fps = _video_info(video)
    return list(media.read_frames(video, size=(info.width, info.height), fps=int(fps))), fps


def _video_info(video: Path) -> tuple[media.MediaInfo, float]:
    info = media.probe(video)
    if not info.has_video or info.width <= 0 or info.fps <= 0:
        raise MediaError(f"{video.name} has no video stream")
    return info, float(int(round(info.fps)))


def realism_report(video: Path, work_dir: Path | None = None) -> dict:
    """The realism figures of a rendered video, with the targets they are read against.

    Frames stream through the mesh tracker; only the most open ones are decoded again and
    kept, for the mouth-interior ratio, so a long video never sits in memory whole.
    """
    from generation.pipeline.speech.timeline import load_audio

    video = Path(video)
    info, fps = _video_info(video)
    size = (info.width, info.height)
    meshes = detect_meshes(media.read_frames(video, size=size, fps=int(fps)))
    aperture = np.array([mouth_aperture(p) if p is not None else np.nan for p in meshes])
    wanted = set(most_open(aperture).tolist())
    kept = {i: f for i, f in enumerate(media.read_frames(video, size=size, fps=int(fps))) if i in wanted}
    rms = None
    if info.has_audio:
        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            clip = load_audio(video, Path(tmp))
        rms = frame_rms(clip.samples, clip.sample_rate, fps, len(meshes))
    report = {"video": video.name, "size": list(size)}
    report.update(realism_figures(kept, fps, meshes=meshes, rms=rms))
    report["meets_targets"] = meets_targets(report)
    report["targets"] = {k: list(v) for k, v in TARGETS.items()}
    logger.info("realism report for %s: %d frames", video.name, report["frames"])
    return report
