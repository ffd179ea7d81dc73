import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import NativeEngine
from generation.pipeline.types import AudioClip, EngineInput, Phone, PhoneTimeline, RenderRequest, Word


def _timeline():
    labels = ["SIL", "HH", "AH", "L", "OW", "SIL", "M", "AA", "P", "SIL"]
    phones, t = [], 0.0
    for lab in labels:
        d = 0.25 if lab == "SIL" else 0.1
        phones.append(Phone(lab, t, t + d))
        t += d
    env_t = np.linspace(0, t, 50)
    env = np.clip(np.sin(env_t * 6), 0, 1)
    return PhoneTimeline(phones=phones, words=[Word("hello", 0.25, 0.65)], duration=t, method="align", envelope_times=env_t, envelope=env)


def _input(tmp_path, image, face, preprocess="full", frame_count=None):
    tl = _timeline()
    req = RenderRequest(output_path=tmp_path / "out.mp4", work_dir=tmp_path, resolution="480p", fps=25, preprocess=preprocess)
    sr = 16000
    audio = AudioClip(path=tmp_path / "a.wav", samples=np.zeros(int(tl.duration * sr), np.float32), sample_rate=sr)
    geo = F.output_geometry(face, (image.shape[1], image.shape[0]), preprocess, "480p")
    n = frame_count if frame_count is not None else int(round(tl.duration * 25))
    return EngineInput(request=req, image=image, audio=audio, timeline=tl, face=face, geometry=geo, frame_count=n)


@pytest.fixture(scope="module")
def astro_face(astronaut_bgr):
    return F.detect_face(astronaut_bgr)


def test_available_and_refuses_faceless_input(tmp_path, astronaut_bgr):
    eng = NativeEngine()
    assert eng.name == "native" and eng.availability().available
    inp = _input(tmp_path, astronaut_bgr, None)
    assert eng.unsuitable_reason(inp) == "no face found in the image"


@pytest.mark.parametrize("preprocess", ["full", "crop"])
def test_renders_exactly_frame_count_frames_of_the_output_size(tmp_path, astronaut_bgr, astro_face, preprocess):
    inp = _input(tmp_path, astronaut_bgr, astro_face, preprocess)
    calls = []
    stream = NativeEngine().render(inp, lambda p, s: calls.append(p))
    assert stream.frame_count == inp.frame_count and not stream.static
    frames = list(stream.frames)
    assert len(frames) == inp.frame_count
    w, h = inp.geometry.size
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 for f in frames)
    assert calls and calls[-1] == 100.0
    # The mouth actually moves through the clip, and the background never does.
    x0, y0, x1, y1 = F.transform_face(astro_face, inp.geometry).bbox
    mouth = np.array([f[(y0 + y1) // 2:y1, x0:x1].astype(float).mean() for f in frames])
    assert mouth.std() > 0.2
    assert all(np.array_equal(f[:10, :10], frames[0][:10, :10]) for f in frames)


def test_output_is_reproducible(tmp_path, astronaut_bgr, astro_face):
    inp = _input(tmp_path, astronaut_bgr, astro_face, frame_count=12)
    a = list(NativeEngine().render(inp, lambda p, s: None).frames)
    b = list(NativeEngine().render(inp, lambda p, s: None).frames)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
