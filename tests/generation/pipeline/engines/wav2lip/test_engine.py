from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.pipeline import face as face_mod
from generation.pipeline import media
from generation.pipeline.engines.checkpoints import PathLabels
from generation.pipeline.engines.wav2lip.engine import Wav2LipEngine, face_box, lower_face_mask
from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, checkpoint_state_dict
from generation.pipeline.types import AudioClip, EngineInput, PhoneTimeline, RenderRequest
from paksatalker_site.errors import EngineFailed, JobCancelled


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """A models/wav2lip/ directory holding a randomly initialised net in the official format."""
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("wav2lip")
    torch.save({"state_dict": checkpoint_state_dict(Wav2LipGenerator()), "global_step": 0}, d / "wav2lip.pth")
    return d


@pytest.fixture(scope="module")
def engine_input(tmp_path_factory, astronaut_bgr, short_speech_wav) -> EngineInput:
    work = tmp_path_factory.mktemp("w2l_job")
    wav = media.normalize_audio(short_speech_wav, work / "speech.wav")
    samples, rate = media.read_wav(wav)
    clip = AudioClip(path=wav, samples=samples, sample_rate=rate)
    analysis = face_mod.detect_face(astronaut_bgr)
    assert analysis is not None
    req = RenderRequest(output_path=work / "out.mp4", work_dir=work, resolution="480p", fps=25, preprocess="crop")
    geometry = face_mod.output_geometry(analysis, (astronaut_bgr.shape[1], astronaut_bgr.shape[0]), "crop", "480p")
    timeline = PhoneTimeline(phones=[], words=[], duration=clip.duration, method="energy")
    return EngineInput(request=req, image=astronaut_bgr, audio=clip, timeline=timeline, face=analysis,
                       geometry=geometry, frame_count=int(round(clip.duration * 25)))


def test_availability_loads_official_format(models_dir):
    engine = Wav2LipEngine(models_dir)
    avail = engine.availability()
    assert avail.available, avail.reason
    assert avail.detail["checkpoint"].endswith("wav2lip.pth")
    assert engine.availability() is avail  # cached


def test_gan_checkpoint_used_when_plain_missing(tmp_path):
    torch.save({"state_dict": checkpoint_state_dict(Wav2LipGenerator())}, tmp_path / "wav2lip_gan.pth")
    assert Wav2LipEngine(tmp_path).availability().detail["checkpoint"].endswith("wav2lip_gan.pth")


def test_unavailable_reasons(tmp_path):
    assert "no wav2lip.pth or wav2lip_gan.pth" in Wav2LipEngine(tmp_path).availability().reason
    state = checkpoint_state_dict(Wav2LipGenerator())
    del state["module.audio_encoder.0.conv_block.0.weight"]
    torch.save({"state_dict": state}, tmp_path / "wav2lip.pth")
    avail = Wav2LipEngine(tmp_path).availability()
    assert not avail.available
    assert "wav2lip.pth: missing key module.audio_encoder.0.conv_block.0.weight" in avail.reason

    state = checkpoint_state_dict(Wav2LipGenerator())
    state["module.output_block.1.weight"] = torch.zeros(3, 16, 1, 1)
    torch.save({"state_dict": state}, tmp_path / "wav2lip.pth")
    assert "module.output_block.1.weight has shape (3, 16, 1, 1)" in Wav2LipEngine(tmp_path).availability().reason

    (tmp_path / "wav2lip.pth").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 435801865\n")
    avail = Wav2LipEngine(tmp_path).availability()
    assert not avail.available and "wav2lip.pth: is a Git LFS pointer" in avail.reason


def test_reason_names_the_folder_as_users_know_it(tmp_path):
    folder = tmp_path / "models" / "wav2lip"
    folder.mkdir(parents=True)
    engine = Wav2LipEngine(folder, labels=PathLabels.of({tmp_path: ""}))
    assert engine.availability().reason == "models/wav2lip/: no wav2lip.pth or wav2lip_gan.pth"
    (folder / "wav2lip.pth").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 4\n")
    reason = Wav2LipEngine(folder).availability().reason  # without labels: the file name alone
    assert reason.startswith("wav2lip.pth: is a Git LFS pointer") and str(tmp_path) not in reason


LOADED_AFTER_CHECK = """
import sys
from pathlib import Path
from generation.pipeline.engines.wav2lip.engine import Wav2LipEngine
available = Wav2LipEngine(Path(sys.argv[1])).availability().available
print(available, sorted(name for name in ("torch", "scipy") if name in sys.modules))
"""


def _check_in_fresh_process(folder: Path) -> str:
    root = Path(__file__).resolve().parents[5]
    done = subprocess.run([sys.executable, "-c", LOADED_AFTER_CHECK, str(folder)], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_checking_without_a_usable_checkpoint_imports_neither_torch_nor_scipy(tmp_path, models_dir):
    assert _check_in_fresh_process(tmp_path) == "False []"  # no checkpoint at all
    (tmp_path / "wav2lip.pth").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 4\n")
    assert _check_in_fresh_process(tmp_path) == "False []"  # told apart from its header
    assert _check_in_fresh_process(models_dir) == "True ['torch']"  # a real one is loaded, in torch


def test_warm_on_thread(models_dir):
    import threading

    engine = Wav2LipEngine(models_dir)
    t = threading.Thread(target=engine.warm)
    t.start()
    t.join(60)
    assert engine.availability().available


@pytest.mark.slow
def test_render_end_to_end(models_dir, engine_input, tmp_path):
    engine = Wav2LipEngine(models_dir, batch_size=8)
    calls: list[tuple[float, str]] = []
    stream = engine.render(engine_input, lambda p, s: calls.append((p, s)))
    frames = list(stream.frames)
    assert stream.frame_count == engine_input.frame_count == len(frames)
    w, h = engine_input.geometry.size
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 for f in frames)
    assert calls and calls[-1][0] == 100.0
    assert [p for p, _ in calls] == sorted(p for p, _ in calls)

    base = face_mod.crop_to_geometry(engine_input.image, engine_input.geometry)
    face = face_mod.transform_face(engine_input.face, engine_input.geometry)
    x0, y0, x1, y1 = face_box(face, w, h)
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    for f in frames[:: max(1, len(frames) // 5)]:
        assert np.array_equal(f[outside], base[outside])  # pixels away from the face are untouched
        diff = np.abs(f.astype(int) - base.astype(int)).sum(axis=2)
        assert diff[y0 + (y1 - y0) * 2 // 3, (x0 + x1) // 2] > 0  # the mouth region was replaced
        # The top of the box (forehead) is never touched: the mask is lower-face only.
        assert diff[y0:y0 + (y1 - y0) // 3].max() == 0
    import cv2

    cv2.imwrite(str(tmp_path / "w2l_frame.png"), frames[len(frames) // 2])


def test_mask_feathered_inside_box(engine_input):
    w, h = engine_input.geometry.size
    face = face_mod.transform_face(engine_input.face, engine_input.geometry)
    box = face_box(face, w, h)
    mask = lower_face_mask(face, box)[..., 0]
    assert mask.shape == (box[3] - box[1], box[2] - box[0])
    assert mask[0].max() == 0 and mask[-1].max() == 0 and mask[:, 0].max() == 0 and mask[:, -1].max() == 0
    assert mask.max() > 0.99
    ramp = ((mask > 0.05) & (mask < 0.95)).sum()
    assert ramp > 0.1 * (mask > 0.95).sum()  # a wide soft edge, not a hard cut
    assert mask[: mask.shape[0] // 2].max() == 0


def test_cancel_propagates(models_dir, engine_input):
    engine = Wav2LipEngine(models_dir, batch_size=4)

    def cancel(p, s):
        raise JobCancelled()

    with pytest.raises(JobCancelled):
        engine.render(engine_input, cancel)


def test_render_without_weights_fails(tmp_path, engine_input):
    with pytest.raises(EngineFailed):
        Wav2LipEngine(tmp_path).render(engine_input, lambda p, s: None)


def test_an_adopted_check_answers_without_the_model_and_a_render_loads_it(models_dir, engine_input):
    checked = Wav2LipEngine(models_dir)  # as if in the web master's throwaway child
    answer = checked.availability()
    engine = Wav2LipEngine(models_dir)
    engine.adopt(answer, checked.checkpoint)
    assert engine.availability() is answer and answer.available and not engine.model_loaded
    frames = list(engine.render(engine_input, lambda p, s: None).frames)
    assert len(frames) == engine_input.frame_count and engine.model_loaded
