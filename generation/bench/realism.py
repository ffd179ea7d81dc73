"""How alive the native engine looks (issue 17), per emotion, and the contact sheet for the docs.

Each emotion is rendered from the same photo and text as a neutral render; the
realism figures (head turn, nod, gaze shifts, mouth corners, face found, lip
sync) come from re-detecting the mesh on the output, the emotion's rise from
MediaPipe's FaceLandmarker blendshapes against the neutral render, and the
rank of the asked emotion from our mini_xception on the same frames.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from generation.bench.media import astronaut_png, speech_wav
from generation.bench.portraits import NAMES as PORTRAITS
from generation.bench.portraits import portrait_png
from generation.pipeline import render as pipeline
from generation.pipeline.engines.native.engine import NativeEngine
from generation.pipeline.engines.still import StillEngine
from generation.pipeline.measure import realism
from generation.pipeline.types import RenderRequest

logger = logging.getLogger(__name__)

EMOTIONS = ("happy", "sad", "angry", "surprised")
RISE_TARGETS = {"happy": 0.3, "sad": 0.2, "angry": 0.2, "surprised": 0.3}
XCEPTION_NAMES = {"happy": "happy", "sad": "sad", "angry": "angry", "surprised": "surprise", "neutral": "neutral"}
BLENDSHAPE_EVERY = 2  # read every other frame: plenty for a mean, half the time
XCEPTION_EVERY = 5


def render_clip(image: Path, audio: Path, text: str, work: Path, *, resolution: str = "720p", emotion: str = "neutral",
                style: str = "natural", name: str = "") -> tuple[Path, float]:
    """Render with the native engine; (video path, render stage speed in x real time)."""
    out = work / f"{name or emotion}-{resolution}.mp4"
    request = RenderRequest(output_path=out, work_dir=work, image_path=image, audio_path=audio, text=text, resolution=resolution,
                            fps=25, emotion=emotion, style=style, expression_engine="none")
    result = pipeline.render(request, {"native": NativeEngine(), "still": StillEngine()}, lambda p, s: None, pipeline.RenderHooks())
    if result.engine != "native":
        raise RuntimeError(f"the native engine did not render: {result.fallback_reasons}")
    return out, round(result.duration / max(result.timings["render"], 1e-6), 2)


def _mini_xception_rank(frames: list[np.ndarray], meshes: list, emotion: str, model: Path | None) -> dict | None:
    """The asked emotion's rank (1 = first) in mini_xception's mean probabilities over the frames."""
    try:
        from expressions.engines import mini_xception
    except Exception as exc:  # noqa: BLE001 - the classifier is optional for this benchmark
        return {"error": str(exc)}
    if model is None or not Path(model).is_file():
        return None
    probs = []
    for frame, mesh in list(zip(frames, meshes))[::XCEPTION_EVERY]:
        if mesh is None:
            continue
        x0, y0 = np.floor(mesh[:, :2].min(axis=0)).astype(int)
        x1, y1 = np.ceil(mesh[:, :2].max(axis=0)).astype(int)
        probs.append(mini_xception.emotion_probs(frame, (int(x0), int(y0), int(x1), int(y1)), Path(model)))
    if not probs:
        return None
    mean = {k: float(np.mean([p[k] for p in probs])) for k in probs[0]}
    order = sorted(mean, key=mean.get, reverse=True)
    want = XCEPTION_NAMES[emotion]
    return {"rank": order.index(want) + 1, "top": [(k, round(mean[k], 3)) for k in order[:3]]}


def emotion_realism(portrait: str | Path = "avatar", seconds: float = 12.0, resolution: str = "720p",
                    landmarker_model: Path | None = None, xception_model: Path | None = None) -> dict:
    """Realism figures of a neutral render and of each emotion, with FaceLandmarker rises over neutral.

    ``portrait``: ``avatar`` (default: a neutral face, so every emotion has room to
    show), ``astronaut`` (it already smiles), ``unseen`` (a real photo nothing was tuned
    on; see generation/bench/portraits.py) or an image path; the models are
    optional (their rows say so when absent).
    """
    from generation.pipeline.measure import blendshapes

    rows: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = portrait_png(str(portrait), work / f"{portrait}.png") if str(portrait) in PORTRAITS else Path(portrait)
        audio, text = speech_wav(work / "speech.wav", seconds)
        shapes: dict[str, list] = {}
        for emotion in ("neutral",) + EMOTIONS:
            video, speed = render_clip(image, audio, text, work, resolution=resolution, emotion=emotion)
            frames, fps = realism.read_video(video)
            meshes = realism.detect_meshes(frames)
            row = {"render_x_realtime": speed}
            row.update(realism.realism_figures(frames, fps, meshes=meshes, rms=_rms(video, fps, len(frames), work)))
            row["meets_targets"] = realism.meets_targets(row)
            if landmarker_model is not None and Path(landmarker_model).is_file():
                shapes[emotion] = blendshapes.read_blendshapes(frames[::BLENDSHAPE_EVERY], landmarker_model, fps=fps / BLENDSHAPE_EVERY)
            row["mini_xception"] = _mini_xception_rank(frames, meshes, emotion, xception_model)
            rows[emotion] = row
            logger.info("realism bench: %s done", emotion)
        for emotion in EMOTIONS:
            if emotion in shapes and "neutral" in shapes:
                rise = blendshapes.emotion_rise(shapes["neutral"], shapes[emotion], emotion)
                rows[emotion]["blendshape_rise"] = round(rise, 3)
                rows[emotion]["blendshape_rise_target"] = RISE_TARGETS[emotion]
            else:
                rows[emotion]["blendshape_rise"] = None  # no face_landmarker.task: run fetch_models
    return verdict({"clip_s": seconds, "resolution": resolution, "portrait": image.name, "rows": rows,
                    "targets": realism.TARGETS})


def verdict(result: dict) -> dict:
    """Adds ``checks``, ``target_met`` and a one-line ``summary`` to an ``emotion_realism`` result:
    every render within the realism targets, each emotion's FaceLandmarker rise over neutral at its
    target, and mini_xception ranking the asked emotion first or second."""
    checks: dict[str, bool] = {}
    for emotion, row in result["rows"].items():
        failed = [name for name, ok in row.get("meets_targets", {}).items() if ok is False]
        checks[f"{emotion} figures"] = not failed
        if emotion == "neutral":
            continue
        if row.get("blendshape_rise") is not None:
            checks[f"{emotion} rise"] = row["blendshape_rise"] >= RISE_TARGETS[emotion]
        rank = (row.get("mini_xception") or {}).get("rank")
        if rank is not None:
            checks[f"{emotion} mini_xception rank"] = rank <= 2
    missed = [name for name, ok in checks.items() if not ok]
    result["checks"] = checks
    result["target_met"] = bool(checks) and not missed
    result["summary"] = (f"realism of {result['portrait']} at {result['resolution']}: "
                         + ("MET" if result["target_met"] else "NOT MET: " + ", ".join(missed)))
    return result


def _rms(video: Path, fps: float, n: int, work: Path) -> np.ndarray:
    from generation.pipeline import media
    from generation.pipeline.measure.lipsync import frame_rms

    wav = media.normalize_audio(video, work / f"{video.stem}-audio.wav")
    samples, rate = media.read_wav(wav)
    return frame_rms(samples, rate, fps, n)


def _pick_frames(meshes: list, timeline, fps: float) -> dict[str, int]:
    """Frame indices of an open vowel, a p/b/m, a pause, a blink and the strongest turn, measured on the output."""
    from generation.pipeline.measure.lipsync import eye_openness, mouth_aperture
    from generation.pipeline.speech.phonemes import BILABIALS, OPEN_VOWELS, SILENCE

    n = len(meshes)
    aperture = np.array([mouth_aperture(m) if m is not None else np.nan for m in meshes])
    eyes = np.array([np.mean(eye_openness(m)) if m is not None else np.nan for m in meshes])
    turn = np.array([realism.nose_offset(m)[0] if m is not None else np.nan for m in meshes])

    def centres(labels, min_len: float = 0.0) -> list[int]:
        return [min(n - 1, int((p.start + p.end) / 2 * fps)) for p in timeline.phones if p.label in labels and p.end - p.start >= min_len]

    opens, closes, pauses = centres(OPEN_VOWELS), centres(BILABIALS), centres({SILENCE}, 0.25)
    inner = [i for i in pauses if 0 < i < n - 1] or pauses or [0]
    return {
        "open vowel": max(opens, key=lambda i: np.nan_to_num(aperture[i])) if opens else int(np.nanargmax(aperture)),
        "p/b/m": min(closes, key=lambda i: np.nan_to_num(aperture[i], nan=1.0)) if closes else int(np.nanargmin(aperture)),
        "pause": inner[len(inner) // 2],
        "blink": int(np.nanargmin(eyes)),
        "turn": int(np.nanargmax(np.abs(turn - np.nanmedian(turn)))),
    }


def contact_sheet(out: Path, seconds: float = 8.0, resolution: str = "720p", emotion: str = "neutral") -> dict:
    """Write a contact sheet of the astronaut's render (source, open vowel, p/b/m, pause, blink, turn) to ``out``."""
    import cv2

    from generation.pipeline.speech import timeline as speech

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = astronaut_png(work / "astronaut.png")
        audio, text = speech_wav(work / "speech.wav", seconds)
        video, _ = render_clip(image, audio, text, work, resolution=resolution, emotion=emotion, name="sheet")
        frames, fps = realism.read_video(video)
        timeline = speech.phone_timeline(speech.load_audio(video, work), text)
        source = cv2.imread(str(image))
    meshes = realism.detect_meshes(frames)
    picks = _pick_frames(meshes, timeline, fps)
    found = [m for m in meshes if m is not None]
    box_min = np.min([m.min(axis=0) for m in found], axis=0)
    box_max = np.max([m.max(axis=0) for m in found], axis=0)
    pad = 0.3 * (box_max - box_min)
    x0, y0 = np.maximum(0, np.floor(box_min - pad)).astype(int)
    x1, y1 = np.ceil(box_max + pad).astype(int)
    h, w = frames[0].shape[:2]
    source = cv2.resize(source, (w, h), interpolation=cv2.INTER_CUBIC)  # the photo as the render framed it ("full")
    tiles = [("source photo", source)] + [(name, frames[i]) for name, i in picks.items()]
    cells = []
    for name, frame in tiles:
        crop = frame[y0:y1, x0:x1]
        cell = cv2.resize(crop, (320, int(round(320 * crop.shape[0] / crop.shape[1]))), interpolation=cv2.INTER_AREA)
        label = np.full((28, cell.shape[1], 3), 255, np.uint8)
        cv2.putText(label, name, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 1, cv2.LINE_AA)
        cells.append(np.vstack([label, cell]))
    sheet = np.vstack([np.hstack(cells[:3]), np.hstack(cells[3:6])])
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet)
    return {"path": str(out), "frames": {name: int(i) for name, i in picks.items()}, "resolution": resolution}
