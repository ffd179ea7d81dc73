"""README frames: the astronaut render at an open vowel, a bilabial, a pause and a blink,
chosen by measurement (phones re-aligned on the audio, eye openness re-detected), not by hand."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from generation.bench.media import astronaut_png, speech_wav
from generation.pipeline import face as face_stage
from generation.pipeline import media
from generation.pipeline import render as pipeline
from generation.pipeline.engines.native.engine import NativeEngine
from generation.pipeline.engines.still import StillEngine
from generation.pipeline.measure.lipsync import eye_openness, mouth_aperture
from generation.pipeline.speech import timeline as speech
from generation.pipeline.speech.phonemes import BILABIALS, OPEN_VOWELS, SILENCE
from generation.pipeline.types import RenderRequest

FPS = 25


def readme_frames(out_dir: Path, resolution: str = "720p", seconds: float = 12.0) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio_path, text = speech_wav(tmp / "speech.wav", seconds)
        request = RenderRequest(output_path=tmp / "native.mp4", work_dir=tmp, image_path=astronaut_png(tmp / "a.png"),
                                audio_path=audio_path, text=text, resolution=resolution, fps=FPS, expression_engine="none")
        result = pipeline.render(request, {"native": NativeEngine(), "still": StillEngine()}, lambda p, s: None, pipeline.RenderHooks())
        info = media.probe(result.output_path)
        frames = list(media.read_frames(result.output_path, size=(info.width, info.height), fps=FPS))
        timeline = speech.phone_timeline(speech.load_audio(result.output_path, tmp), text)
    meshes = [face_stage.detect_face(frame) for frame in frames]
    aperture = np.array([mouth_aperture(m.landmarks) if m else np.nan for m in meshes])
    eyes = np.array([np.mean(eye_openness(m.landmarks)) if m else np.nan for m in meshes])

    def middle(phone) -> int:
        return min(len(frames) - 1, int((phone.start + phone.end) / 2 * FPS))

    def frames_of(labels, what: str) -> list[int]:
        picked = [middle(p) for p in timeline.phones if p.label in labels]
        if not picked:
            raise RuntimeError(f"no {what} in the re-aligned phones ({timeline.method}): cannot pick that frame")
        return picked

    pauses = frames_of({SILENCE}, "pause")
    long_pauses = [middle(p) for p in timeline.phones if p.label == SILENCE and p.end - p.start >= 0.3]
    choices = {
        "open": max(frames_of(OPEN_VOWELS, "open vowel"), key=lambda i: aperture[i]),
        "bilabial": min(frames_of(BILABIALS, "bilabial"), key=lambda i: aperture[i]),
        "pause": long_pauses[1] if len(long_pauses) > 1 else pauses[0],
        "blink": int(np.nanargmin(eyes)),
    }
    written = {}
    for name, index in choices.items():
        face = meshes[index] or meshes[0]
        x0, y0, x1, y1 = face.bbox
        pad = int(0.35 * (x1 - x0))
        crop = frames[index][max(0, y0 - pad): y1 + pad, max(0, x0 - pad): x1 + pad]
        path = out_dir / f"{name}.png"
        cv2.imwrite(str(path), cv2.resize(crop, (320, int(320 * crop.shape[0] / crop.shape[1]))))
        written[name] = {"frame": index, "aperture": round(float(aperture[index]), 3), "file": path.name}
    return written
