"""Measuring tool for lip-sync quality of a rendered talking-head video.

Re-detects the face mesh on every output frame and relates the mouth's
opening to the sound (RMS envelope, and phones re-aligned on the output
audio); also counts blinks and measures head motion. With the text (and its
language), the closure and false-closure rates are measured against
espeak-ng's own phone times (closure.py). Django-free; the
``lipsync_report`` management command prints the result as JSON.
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
    LEFT_EYE_UPPER_LOWER,
    LOWER_INNER_LIP_MID,
    NOSE_TIP,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_UPPER_LOWER,
    UPPER_INNER_LIP_MID,
    inter_ocular_distance,
)
from generation.pipeline.measure.closure import Reference, closure_figures, reference_phones
from generation.pipeline.speech.inventory import phone_info
from generation.pipeline.types import AudioClip

logger = logging.getLogger(__name__)

MAX_LAG_FRAMES = 5
BLINK_RATIO = 0.6  # an eye closing below this share of its median openness is a blink
MAX_DETECT_SIDE = 720  # frames are measured at most this large (mesh accuracy is ample)


def mouth_aperture(points: np.ndarray) -> float:
    """Inner-lip gap (landmarks 13-14) over the inter-ocular distance."""
    iod = inter_ocular_distance(points)
    gap = float(np.linalg.norm(points[UPPER_INNER_LIP_MID, :2] - points[LOWER_INNER_LIP_MID, :2]))
    return gap / iod if iod > 0 else float("nan")


def eye_openness(points: np.ndarray) -> tuple[float, float]:
    """(right, left) eyelid gap over eye width, the subject's right eye first."""
    out = []
    for (top, bottom), (c0, c1) in ((RIGHT_EYE_UPPER_LOWER, RIGHT_EYE_CORNERS), (LEFT_EYE_UPPER_LOWER, LEFT_EYE_CORNERS)):
        width = float(np.linalg.norm(points[c0, :2] - points[c1, :2]))
        gap = float(np.linalg.norm(points[top, :2] - points[bottom, :2]))
        out.append(gap / width if width > 0 else float("nan"))
    return out[0], out[1]


def _roll_degrees(points: np.ndarray) -> float:
    right = points[list(RIGHT_EYE_CORNERS), :2].mean(axis=0)
    left = points[list(LEFT_EYE_CORNERS), :2].mean(axis=0)
    dx, dy = left - right
    return math.degrees(math.atan2(dy, dx))


def _num(value) -> float | None:
    value = float(value)
    return round(value, 5) if math.isfinite(value) else None


def _stats(values: np.ndarray) -> dict:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": _num(v.mean()), "std": _num(v.std()), "min": _num(v.min()), "max": _num(v.max())}


def detect_meshes(frames) -> list[np.ndarray | None]:
    """The (478, 2) mesh with irises on each frame, in frame pixels; None where no face is found.

    Video mode tracks the face between frames: much faster than static detection.
    """
    import cv2
    import mediapipe as mp

    out: list[np.ndarray | None] = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True, max_num_faces=1,
                                         min_detection_confidence=0.5, min_tracking_confidence=0.5) as mesh:
        for frame in frames:
            h, w = frame.shape[:2]
            scale = min(1.0, MAX_DETECT_SIDE / float(max(w, h)))
            probe = frame if scale == 1.0 else cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
            result = mesh.process(cv2.cvtColor(probe, cv2.COLOR_BGR2RGB))
            if not result.multi_face_landmarks:
                out.append(None)
                continue
            lm = result.multi_face_landmarks[0].landmark
            out.append(np.array([(p.x * w, p.y * h) for p in lm], dtype=np.float64))
    return out


def frame_rms(samples: np.ndarray, sample_rate: int, fps: float, frame_count: int) -> np.ndarray:
    """Audio RMS over each video frame's interval, normalised 0..1 by its 95th percentile."""
    rms = np.zeros(frame_count)
    for i in range(frame_count):
        a, b = int(i / fps * sample_rate), int((i + 1) / fps * sample_rate)
        chunk = samples[a:b]
        rms[i] = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if len(chunk) else 0.0
    ref = np.percentile(rms, 95) if frame_count else 0.0
    return np.clip(rms / ref, 0.0, 1.0) if ref > 1e-6 else rms


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    a, b = a[ok], b[ok]
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0  # a motionless mouth (or silent audio) correlates with nothing
    return float(np.corrcoef(a, b)[0, 1])


def lagged_correlation(aperture: np.ndarray, rms: np.ndarray, max_lag: int = MAX_LAG_FRAMES) -> tuple[float, float, int]:
    """(corr at lag 0, best corr, its lag). Positive lag: the mouth moves ``lag`` frames after the sound."""
    n = min(len(aperture), len(rms))
    aperture, rms = aperture[:n], rms[:n]
    lag0 = _corr(aperture, rms)
    best, best_lag = lag0, 0
    for lag in range(-max_lag, max_lag + 1):
        if lag == 0 or n - abs(lag) < 3:
            continue
        c = _corr(aperture[lag:], rms[: n - lag]) if lag > 0 else _corr(aperture[: n + lag], rms[-lag:])
        if math.isfinite(c) and (not math.isfinite(best) or c > best):
            best, best_lag = c, lag
    return lag0, best, best_lag


def count_blinks(openness: np.ndarray) -> int:
    """Dips of eye openness below BLINK_RATIO of the clip's median."""
    valid = openness[np.isfinite(openness)]
    if len(valid) == 0:
        return 0
    closed = np.where(np.isfinite(openness), openness < BLINK_RATIO * float(np.median(valid)), False)
    return int(np.sum(closed[1:] & ~closed[:-1]) + int(closed[0]))


def _by_class(aperture: np.ndarray, timeline, fps: float) -> dict:
    centres = (np.arange(len(aperture)) + 0.5) / fps
    kinds = np.array([""] * len(aperture), dtype=object)
    for ph in timeline.phones:
        info = phone_info(ph.label)
        kind = "open_vowel" if info.is_open_vowel else "bilabial" if info.is_bilabial else "silence" if info.is_pause else ""
        kinds[(centres >= ph.start) & (centres < ph.end)] = kind
    out = {}
    for name in ("open_vowel", "bilabial", "silence"):
        mask = (kinds == name) & np.isfinite(aperture)
        out[name] = {"mean": _num(aperture[mask].mean()) if mask.any() else None, "frames": int(mask.sum())}
    return out


def lipsync_report(video: Path, text: str = "", work_dir: Path | None = None, *, language: str | None = None,
                   reference: list | None = None) -> dict:
    """Lip-sync measurements of ``video`` as a JSON-able dict (see module doc).

    ``text`` (with ``language``, else detected) gives the espeak-ng reference
    for the closure figures; ``reference`` (TimedUnit phones, e.g. Festival's
    segments) replaces it.
    """
    from generation.pipeline.speech.timeline import phone_timeline

    video = Path(video)
    info = media.probe(video)
    if not info.has_video or info.width <= 0 or info.fps <= 0:
        raise MediaError(f"{video.name} has no video stream")
    fps = info.fps
    size = (info.width, info.height)
    # read_frames resamples to an integer rate; keep the file's own rate when it is one.
    frames = media.read_frames(video, size=size, fps=int(round(fps)))
    fps = float(int(round(fps)))
    points = detect_meshes(frames)
    n = len(points)
    found = [p for p in points if p is not None]
    aperture = np.array([mouth_aperture(p) if p is not None else np.nan for p in points])
    eyes = np.array([eye_openness(p) if p is not None else (np.nan, np.nan) for p in points]).reshape(-1, 2)
    openness = eyes.mean(axis=1)
    report: dict = {
        "video": str(video), "duration": _num(info.duration), "fps": fps, "size": list(size), "frames": n,
        "face_found_share": _num(len(found) / n) if n else 0.0,
        "aperture": _stats(aperture),
    }
    # Head motion in inter-ocular units (nose tip) and degrees (roll).
    if found:
        iod = np.array([inter_ocular_distance(p) for p in found])
        nose = np.array([p[NOSE_TIP] for p in found]) / np.median(iod)
        dev = np.linalg.norm(nose - nose.mean(axis=0), axis=1)
        roll = np.array([_roll_degrees(p) for p in found])
        report["head_motion"] = {
            "nose_std_iod": _num(np.sqrt(nose.var(axis=0).sum())), "nose_max_iod": _num(dev.max()),
            "roll_std_deg": _num(roll.std()), "roll_max_deg": _num(np.abs(roll - np.median(roll)).max()),
        }
    else:
        report["head_motion"] = None
    blinks = count_blinks(openness)
    minutes = n / fps / 60.0 if n else 0.0
    report["blinks"] = {"count": blinks, "per_minute": _num(blinks / minutes) if minutes else None,
                        "median_eye_openness": _num(np.nanmedian(openness)) if np.isfinite(openness).any() else None}
    if not info.has_audio:
        report["audio"] = None
        return report
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        wav = media.normalize_audio(video, Path(tmp) / "report_audio.wav")
        samples, rate = media.read_wav(wav)
        clip = AudioClip(path=wav, samples=samples, sample_rate=rate)
        rms = frame_rms(samples, rate, fps, n)
        lag0, best, lag = lagged_correlation(aperture, rms)
        ref = None
        if reference is not None:
            ref = Reference(list(reference), "given", language or "")
        elif text.strip() and len(samples):
            ref = reference_phones(clip, text, language)
        # The reference's espeak-ng synthesis and alignment serve the timeline too: made once.
        alignment = ref.alignment if ref is not None else None
        timeline = phone_timeline(clip, text, language=language, alignment=alignment) if len(samples) else None
    report["audio"] = {
        "correlation_lag0": _num(lag0), "correlation_best": _num(best), "best_lag_frames": lag,
    }
    if timeline is not None:
        by_class = _by_class(aperture, timeline, fps)
        open_mean, bilabial_mean = by_class["open_vowel"]["mean"], by_class["bilabial"]["mean"]
        report["aperture_by_class"] = by_class
        report["open_to_bilabial_ratio"] = (
            _num(open_mean / bilabial_mean) if open_mean is not None and bilabial_mean else None
        )
        report["phones"] = {"method": timeline.method, "count": len(timeline.phones), "notes": timeline.notes}
    if ref is not None:
        report["closure"] = {"reference": ref.source, "language": ref.language, **closure_figures(aperture, fps, ref.phones)}
    logger.info("lipsync report for %s: %d frames, face %.0f%%", video.name, n, 100.0 * len(found) / max(n, 1))
    return report
