import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native.engine import NativeEngine
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


def _held_bilabial_input(tmp_path, image, face):
    """SIL, AA, a 120 ms M, AA, SIL with a matching loudness envelope."""
    spec = [("SIL", 0.3), ("AA", 0.3), ("M", 0.12), ("AA", 0.3), ("SIL", 0.3)]
    phones, t = [], 0.0
    for lab, d in spec:
        phones.append(Phone(lab, t, t + d))
        t += d
    env_t = np.arange(0.005, t, 0.01)
    env = np.array([0.9 if next(p.label for p in phones if p.start <= x < p.end) == "AA" else 0.05 for x in env_t])
    tl = PhoneTimeline(phones=phones, words=[], duration=t, method="align", envelope_times=env_t, envelope=env)
    inp = _input(tmp_path, image, face)
    inp.timeline = tl
    inp.frame_count = int(round(t * 25))
    return inp, phones


@pytest.mark.slow
def test_held_bilabial_is_closed_on_all_its_frames_and_vowels_open(tmp_path, astronaut_bgr, astro_face):
    from generation.pipeline.measure.lipsync import mouth_aperture

    inp, phones = _held_bilabial_input(tmp_path, astronaut_bgr, astro_face)
    frames = list(NativeEngine().render(inp, lambda p, s: None).frames)
    assert len(frames) == inp.frame_count == 33
    m = phones[2]
    closed = [i for i in range(len(frames)) if m.start <= (i + 0.5) / 25 < m.end]
    vowels = [i for i in range(len(frames)) if any(p.label == "AA" and p.start + 0.08 <= (i + 0.5) / 25 < p.end - 0.04 for p in phones)]
    aperture = lambda i: mouth_aperture(F.detect_face(frames[i]).points)  # noqa: E731
    assert len(closed) == 3
    closed_ap = [aperture(i) for i in closed]
    open_ap = [aperture(i) for i in vowels]
    assert max(closed_ap) < 0.06
    assert np.mean(open_ap) >= 4 * np.mean(closed_ap)


@pytest.mark.parametrize("preprocess", ["full", "crop"])
def test_changed_box_bounds_every_change(tmp_path, astronaut_bgr, astro_face, preprocess):
    inp = _input(tmp_path, astronaut_bgr, astro_face, preprocess, frame_count=20)
    stream = NativeEngine().render(inp, lambda p, s: None)
    x0, y0, x1, y1 = stream.changed_box
    w, h = inp.geometry.size
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    base = F.crop_to_geometry(astronaut_bgr, inp.geometry)
    for frame in stream.frames:
        outside = np.ones((h, w), bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(frame[outside], base[outside])
