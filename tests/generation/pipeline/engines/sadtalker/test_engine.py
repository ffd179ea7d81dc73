from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from generation.pipeline import face as face_mod
from generation.pipeline import media
from generation.pipeline.engines.sadtalker.engine import SadTalkerConfig, SadTalkerEngine, StageProgress
from generation.pipeline.types import AudioClip, EngineInput, PhoneTimeline, RenderRequest
from paksatalker_site.errors import EngineFailed, JobCancelled

FAKE = Path(__file__).parent / "fake_sadtalker"


def _checkout(root: Path, *, sizes=(256,), mappings=("mapping_00229-model.pth.tar", "mapping_00109-model.pth.tar")) -> Path:
    d = root / "SadTalker"
    shutil.copytree(FAKE, d)
    ckpt = d / "checkpoints"
    ckpt.mkdir()
    for size in sizes:
        save_file({"w": np.zeros((4, 4), np.float32)}, str(ckpt / f"SadTalker_V0.0.2_{size}.safetensors"))
    for name in mappings:
        torch.save({"net": torch.zeros(3)}, ckpt / name)
    return d


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return _checkout(tmp_path_factory.mktemp("st"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory, short_speech_wav) -> AudioClip:
    wav = media.normalize_audio(short_speech_wav, tmp_path_factory.mktemp("st_audio") / "speech.wav")
    samples, rate = media.read_wav(wav)
    return AudioClip(path=wav, samples=samples, sample_rate=rate)


@pytest.fixture(scope="module")
def analysis(astronaut_bgr):
    return face_mod.detect_face(astronaut_bgr)


def make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis, *, preprocess="crop", resolution="480p", **kw) -> EngineInput:
    work = tmp_path / "job"
    req = RenderRequest(output_path=work / "out.mp4", work_dir=work, image_path=astronaut_path, resolution=resolution,
                        fps=25, preprocess=preprocess, **kw)
    geometry = face_mod.output_geometry(analysis, (astronaut_bgr.shape[1], astronaut_bgr.shape[0]), preprocess, resolution)
    timeline = PhoneTimeline(phones=[], words=[], duration=audio.duration, method="energy")
    return EngineInput(request=req, image=astronaut_bgr, audio=audio, timeline=timeline, face=analysis,
                       geometry=geometry, frame_count=int(round(audio.duration * 25)))


def engine_for(checkout: Path, **kw) -> SadTalkerEngine:
    kw.setdefault("timeout_base_s", 60)
    kw.setdefault("timeout_per_audio_s", 0)
    return SadTalkerEngine(SadTalkerConfig(dir=checkout, python=sys.executable, **kw))


def argv_of(work: Path) -> list[list[str]]:
    return [json.loads(p.read_text()) for p in sorted(work.glob("sadtalker-*/argv.json"), key=lambda p: p.stat().st_mtime)]


@pytest.fixture
def mode(monkeypatch):
    def set_mode(value: str) -> None:
        monkeypatch.setenv("FAKE_SADTALKER_MODE", value)

    set_mode("success")
    return set_mode


def test_availability(checkout, tmp_path):
    assert engine_for(checkout).availability().available
    assert "not set" in SadTalkerEngine(SadTalkerConfig(dir=None)).availability().reason
    # Paths read as the setting that names the checkout: never the server's own path.
    assert engine_for(tmp_path).availability().reason == "PAKSA_SADTALKER_DIR/inference.py not found"
    missing_python = SadTalkerEngine(SadTalkerConfig(dir=checkout, python=str(tmp_path / "nopython")))
    reason = missing_python.availability().reason
    assert "interpreter nopython not found" in reason and str(tmp_path) not in reason
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "inference.py").write_text("import missing_module_xyz\n")
    avail = engine_for(broken).availability()
    assert not avail.available and "ModuleNotFoundError" in avail.reason


def test_weights_status(tmp_path):
    d = _checkout(tmp_path, mappings=("mapping_00229-model.pth.tar",))
    engine = engine_for(d)
    assert engine.weights_status(256, ("crop",)) == (True, "")
    ok, reason = engine.weights_status(256, ("full",))
    assert not ok and reason == "PAKSA_SADTALKER_DIR/checkpoints/mapping_00109-model.pth.tar: file not found"
    ok, reason = engine.weights_status(512, ("crop",))
    assert not ok and "SadTalker_V0.0.2_512.safetensors" in reason
    (d / "checkpoints" / "mapping_00109-model.pth.tar").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    ok, reason = engine.weights_status(256, ("full",))
    assert not ok and "Git LFS pointer" in reason


def test_stage_progress_parsing():
    sp = StageProgress(["landmark Det", "3DMM Extraction In Video", "mel", "audio2exp", "Face Renderer"])
    seen = []
    for line in ["landmark Det:: 100%|##| 1/1", "3DMM Extraction In Video::  50%|#", "mel:: 100%|", "audio2exp:: 100%|",
                 "Face Renderer::  45%|####5     | 9/20 [00:03<00:04,  2.5it/s]", "landmark Det::  10%", "random text"]:
        sp.feed(line)
        seen.append(sp.percent)
    assert seen == sorted(seen) and 50 < seen[4] < 80
    assert sp.label == "SadTalker: Face Renderer 45%"


@pytest.mark.parametrize(
    "preprocess,resolution,extra,expect_in,expect_out",
    [
        ("crop", "480p", {}, ["--preprocess", "crop", "--size", "256", "--cpu"], ["--still", "--enhancer"]),
        ("full", "1080p", {"emotion": "happy", "style": "expressive"}, ["--preprocess", "full", "--size", "512", "--still", "--expression_scale", "1.50", "--pose_style", "6"], []),
    ],
)
def test_success_argv_and_frames(tmp_path, astronaut_path, astronaut_bgr, audio, analysis, mode, preprocess, resolution, extra, expect_in, expect_out):
    d = _checkout(tmp_path, sizes=(256, 512))
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis, preprocess=preprocess, resolution=resolution, **extra)
    calls = []
    stream = engine_for(d, batch_size=3).render(inp, lambda p, s: calls.append((p, s)))
    (argv,) = argv_of(inp.request.work_dir)
    assert argv[argv.index("--driven_audio") + 1] == str(audio.path)
    assert argv[argv.index("--source_image") + 1] == str(astronaut_path)
    assert argv[argv.index("--checkpoint_dir") + 1] == str(d / "checkpoints")
    assert Path(argv[argv.index("--result_dir") + 1]).parent == inp.request.work_dir
    assert argv[argv.index("--batch_size") + 1] == "3"
    joined = " ".join(argv)
    for token in expect_in:
        assert token in argv
    assert " ".join(expect_in[:2]) in joined
    for token in expect_out:
        assert token not in argv
    percents = [p for p, _ in calls]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert any(s.startswith("SadTalker: Face Renderer") for _, s in calls)
    if preprocess == "full":
        assert any("seamlessClone" in s for _, s in calls)
    frames = list(stream.frames)
    w, h = inp.geometry.size
    assert len(frames) == stream.frame_count == inp.frame_count
    assert all(f.shape == (h, w, 3) for f in frames)
    assert stream.notes == []


def test_enhancer_passed_only_with_weights(tmp_path, astronaut_path, astronaut_bgr, audio, analysis, mode, monkeypatch):
    d = _checkout(tmp_path)
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis)
    engine = engine_for(d, enhancer="gfpgan")
    args = engine.build_args(inp, "crop", tmp_path, astronaut_path)
    assert "--enhancer" not in args
    monkeypatch.chdir(tmp_path)
    rel = engine_for(Path(os.path.relpath(d, tmp_path))).build_args(inp, "crop", Path("res"), Path("img.png"))
    for flag in ("--driven_audio", "--source_image", "--checkpoint_dir", "--result_dir"):
        assert Path(rel[rel.index(flag) + 1]).is_absolute()  # the child runs in the checkout, not here
    weights = d / "gfpgan" / "weights"
    weights.mkdir(parents=True)
    for name in ("GFPGANv1.4.pth", "detection_Resnet50_Final.pth", "alignment_WFLW_4HG.pth", "parsing_parsenet.pth"):
        torch.save({"w": torch.zeros(1)}, weights / name)
    args = engine.build_args(inp, "crop", tmp_path, astronaut_path)
    assert args[args.index("--enhancer") + 1] == "gfpgan"


def test_full_to_crop_retry(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode):
    import cv2

    mode("fail_full")
    # A landscape photo: the square crop-mode video must be fitted into the wide frame, not stretched.
    wide = cv2.copyMakeBorder(astronaut_bgr, 0, 0, 160, 160, cv2.BORDER_REFLECT)
    wide_path = tmp_path / "wide.png"
    cv2.imwrite(str(wide_path), wide)
    wide_face = face_mod.detect_face(wide)
    inp = make_input(tmp_path, wide_path, wide, audio, wide_face, preprocess="full")
    percents = []
    stream = engine_for(checkout).render(inp, lambda p, s: percents.append(p))
    assert percents == sorted(percents) and percents[-1] == 100.0
    runs = argv_of(inp.request.work_dir)
    assert [r[r.index("--preprocess") + 1] for r in runs] == ["full", "crop"]
    assert "retried with 'crop'" in stream.notes[0] and "stand-in failure" in stream.notes[0]
    # The stand-in squeezed the whole wide photo square: no crop box fits it, so it is fitted whole.
    assert "fitted into the full-frame geometry: " in stream.notes[1]
    frames = list(stream.frames)
    w, h = inp.geometry.size
    assert w > h and len(frames) == inp.frame_count and frames[0].shape[:2] == (h, w)
    side = (w - h) // 2  # the square video sits in the middle; the margins are a blurred fill
    middle = frames[0][:, side + 4:w - side - 4]
    margin = frames[0][:, : side - 4]
    assert np.abs(np.diff(middle.astype(int), axis=1)).mean() > 2 * np.abs(np.diff(margin.astype(int), axis=1)).mean()

    strict = make_input(tmp_path / "strict", astronaut_path, astronaut_bgr, audio, analysis, preprocess="full", strict_preprocess=True)
    with pytest.raises(EngineFailed, match="exit 1"):
        engine_for(checkout).render(strict, lambda p, s: None)
    assert len(argv_of(strict.request.work_dir)) == 1
    with pytest.raises(EngineFailed):
        engine_for(checkout, strict_preprocess=True).render(
            make_input(tmp_path / "strict2", astronaut_path, astronaut_bgr, audio, analysis, preprocess="full"), lambda p, s: None)


def test_a_face_crop_retry_is_pasted_back_into_the_photo(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode,
                                                          monkeypatch):
    import cv2

    mode("fail_full")
    wide = cv2.copyMakeBorder(astronaut_bgr, 0, 0, 160, 160, cv2.BORDER_REFLECT)
    wide_path = tmp_path / "wide.png"
    cv2.imwrite(str(wide_path), wide)
    wide_face = face_mod.detect_face(wide)
    x0, y0, x1, y1 = wide_face.bbox  # SadTalker's own crop: a box around the face, a little taller than wide
    side = 1.3 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = (int(cx - side / 2), int(cy - 0.55 * side), int(cx + side / 2), int(cy + 0.6 * side))
    monkeypatch.setenv("FAKE_SADTALKER_CROP", ",".join(map(str, box)))
    inp = make_input(tmp_path, wide_path, wide, audio, wide_face, preprocess="full")
    stream = engine_for(checkout).render(inp, lambda p, s: None)
    assert "pasted back into the photo" in stream.notes[1]
    frame = next(iter(stream.frames)).astype(int)
    photo = face_mod.crop_to_geometry(wide, inp.geometry).astype(int)
    assert frame.shape == photo.shape
    # The stand-in's frames are the photo itself: pasted back, the whole frame is the photo again.
    assert np.abs(frame - photo).mean() < 4
    face_box = face_mod.transform_face(wide_face, inp.geometry).bbox
    fx0, fy0, fx1, fy1 = face_box
    grey = [cv2.cvtColor(img[fy0:fy1, fx0:fx1].astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32) for img in (photo, frame)]
    (dx, dy), _ = cv2.phaseCorrelate(*grey)
    assert abs(dx) < 1.0 and abs(dy) < 1.0, (dx, dy)  # the face sits where it was cut out
    cx0, cy0, cx1, cy1 = stream.changed_box
    assert cx0 <= fx0 and cy0 <= fy0 and cx1 >= fx1 and cy1 >= fy1 and (cx1 - cx0) < 0.8 * frame.shape[1]
    assert (frame[:, :cx0] == photo[:, :cx0]).all()  # outside the pasted box: the photo untouched


@pytest.mark.parametrize("value,message", [("noface", "no face"), ("fail", "exit 1"), ("broken", "unreadable video")])
def test_failures_classified(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode, value, message):
    mode(value)
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis)
    with pytest.raises(EngineFailed, match=message):
        engine_for(checkout).render(inp, lambda p, s: None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_timeout_kills_group(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode):
    mode("hang")
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis)
    stamps = []
    with pytest.raises(EngineFailed, match="timed out"):
        engine_for(checkout, timeout_base_s=2.0).render(inp, lambda p, s: stamps.append(s))
    assert len(stamps) >= 2  # progress kept coming (the heartbeat) while the child was silent
    (pid_file,) = inp.request.work_dir.glob("sadtalker-*/child.pid")
    assert _wait_dead(int(pid_file.read_text()))


def test_cancel_kills_group(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode):
    mode("hang")
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis)
    work = inp.request.work_dir

    def progress(p, s):
        if list(work.glob("sadtalker-*/child.pid")):
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        engine_for(checkout).render(inp, progress)
    (pid_file,) = work.glob("sadtalker-*/child.pid")
    assert _wait_dead(int(pid_file.read_text()))


def test_output_from_own_result_dir(tmp_path, checkout, astronaut_path, astronaut_bgr, audio, analysis, mode, monkeypatch):
    monkeypatch.setenv("FAKE_SADTALKER_NO_NAME", "1")
    inp = make_input(tmp_path, astronaut_path, astronaut_bgr, audio, analysis)
    inp.request.work_dir.mkdir(parents=True)
    decoy_frames = None

    def progress(p, s):
        nonlocal decoy_frames
        if decoy_frames is None and "Face Renderer" in s:
            # A newer, different video appears elsewhere (another job) while ours renders.
            decoy = inp.request.work_dir / "newer.mp4"
            black = tmp_path / "black.png"
            import cv2

            cv2.imwrite(str(black), np.zeros((64, 64, 3), np.uint8))
            media.still_video(black, audio.path, decoy, fps=25, size=(64, 64), duration=audio.duration)
            decoy_frames = decoy

    stream = engine_for(checkout).render(inp, progress)
    assert decoy_frames is not None
    frame = next(iter(stream.frames))
    assert frame.mean() > 40  # the astronaut, not the black decoy
