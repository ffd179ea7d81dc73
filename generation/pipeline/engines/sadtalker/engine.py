"""SadTalker, run as an external program from a user's checkout.

We never import SadTalker: ``<python> inference.py ...`` runs in its own
process group with the checkout as working directory and a result
directory of its own per attempt. Its tqdm bars (stderr, ``\\r``-separated)
become progress; cancel and timeout kill the whole group.

Emotion/style mapping (SadTalker has no emotion input; these are our choices):
``--expression_scale`` = EMOTION_EXPRESSION_SCALE[emotion] * STYLE_EXPRESSION_FACTOR[style];
``--pose_style`` = STYLE_POSE[style] (one of SadTalker's 46 learned pose
styles; 0 is its default, the others were picked for more movement).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from generation.pipeline import media
from generation.pipeline.engines.base import Availability, Engine
from generation.pipeline.engines.checkpoints import PathLabels, check_all
from generation.pipeline.engines.sadtalker import placement
from generation.pipeline.engines.sadtalker.process import StageProgress, run_process, tail_line
from generation.pipeline.errors import EngineFailed, MediaError
from generation.pipeline.types import EngineInput, FrameStream, ProgressFn

logger = logging.getLogger(__name__)

EMOTION_EXPRESSION_SCALE = {"neutral": 1.0, "happy": 1.2, "sad": 0.9, "angry": 1.3, "surprised": 1.4}
STYLE_EXPRESSION_FACTOR = {"calm": 0.85, "natural": 1.0, "expressive": 1.25}
STYLE_POSE = {"calm": 0, "natural": 0, "expressive": 6}
FULL_MODES = ("full", "extfull")
CURRENT_MAPPING = {"crop": "mapping_00229-model.pth.tar", "extcrop": "mapping_00229-model.pth.tar",
                   "resize": "mapping_00229-model.pth.tar", "full": "mapping_00109-model.pth.tar",
                   "extfull": "mapping_00109-model.pth.tar"}
OLD_FORMAT = ("auido2exp_00300-model.pth", "auido2pose_00140-model.pth", "facevid2vid_00189-model.pth.tar",
              "epoch_20.pth", "wav2lip.pth")
ENHANCER_WEIGHTS = ("GFPGANv1.4.pth", "detection_Resnet50_Final.pth", "alignment_WFLW_4HG.pth", "parsing_parsenet.pth")
NAME_RE = re.compile(r"The generated video is named:\s*(.+?)\s*$")
NO_FACE = "No face is detected"
DURATION_TOLERANCE_S = 0.5


@dataclass
class SadTalkerConfig:
    """Values the lead passes from settings (PAKSA_SADTALKER_* and friends)."""

    dir: Optional[Path] = None  # PAKSA_SADTALKER_DIR: a checkout with inference.py
    checkpoints: Optional[Path] = None  # PAKSA_SADTALKER_CHECKPOINTS, default <dir>/checkpoints
    python: str = sys.executable  # PAKSA_SADTALKER_PYTHON
    enhancer: str = ""  # PAKSA_FACE_ENHANCER: "" | "gfpgan" | "RestoreFormer"
    batch_size: int = 2
    threads: int = 2  # OMP/MKL/NUMEXPR threads of the child
    timeout_base_s: float = 600.0
    timeout_per_audio_s: float = 120.0  # wall-clock seconds per second of audio
    strict_preprocess: bool = False  # PAKSA_STRICT_PREPROCESS
    help_timeout_s: float = 120.0
    # How paths read in reasons users see; by default the checkout and checkpoints by
    # their settings' names (see ``path_labels``).
    labels: Optional[PathLabels] = None

    @property
    def path_labels(self) -> PathLabels:
        if self.labels is not None:
            return self.labels
        roots = {self.dir: "PAKSA_SADTALKER_DIR/"} if self.dir else {}
        if self.checkpoints:
            roots[self.checkpoints] = "PAKSA_SADTALKER_CHECKPOINTS/"
        return PathLabels.of(roots)

    @property
    def checkpoint_dir(self) -> Optional[Path]:
        if self.checkpoints:
            return Path(self.checkpoints)
        return Path(self.dir) / "checkpoints" if self.dir else None


@dataclass
class _Run:
    """One attempt's outcome."""

    video: Optional[Path] = None
    error: str = ""


class SadTalkerEngine(Engine):
    name = "sadtalker"

    def __init__(self, config: SadTalkerConfig):
        self.config = config
        self._lock = threading.Lock()
        self._availability: Optional[Availability] = None

    # --- capabilities ------------------------------------------------

    def availability(self) -> Availability:
        with self._lock:
            if self._availability is None:
                self._availability = self._probe()
            return self._availability

    def warm(self) -> Availability:
        """Run the ``--help`` probe now (e.g. on a background thread at start-up)."""
        return self.availability()

    def _probe(self) -> Availability:
        cfg = self.config
        if not cfg.dir:
            return Availability(False, "PAKSA_SADTALKER_DIR is not set")
        labels = cfg.path_labels
        script = Path(cfg.dir) / "inference.py"
        if not script.is_file():
            return Availability(False, f"{labels.show(script)} not found")
        try:
            proc = subprocess.run([cfg.python, "inference.py", "--help"], cwd=cfg.dir, env=self._child_env(),
                                  capture_output=True, timeout=cfg.help_timeout_s, check=False)
        except FileNotFoundError:
            return Availability(False, f"SadTalker interpreter {labels.show(cfg.python)} not found (PAKSA_SADTALKER_PYTHON)")
        except subprocess.TimeoutExpired:
            return Availability(False, f"`inference.py --help` did not answer within {cfg.help_timeout_s:.0f} s")
        if proc.returncode != 0:
            tail = labels.scrub(tail_line(proc.stderr.decode(errors="replace")))
            return Availability(False, f"`inference.py --help` failed (exit {proc.returncode}): {tail}")
        return Availability(True, "", {"dir": labels.show(cfg.dir), "python": labels.show(cfg.python)})

    def weights_status(self, size: int = 256, modes: tuple[str, ...] = ("crop",)) -> tuple[bool, str]:
        """Whether the checkpoints for ``size`` and the preprocess ``modes`` exist and validate."""
        ckpt = self.config.checkpoint_dir
        if ckpt is None:
            return False, "PAKSA_SADTALKER_DIR is not set"
        labels = self.config.path_labels
        ok, reason = check_all(self._current_files(size, modes), labels)
        if ok:
            return True, ""
        old_ok, _ = check_all([ckpt / n for n in OLD_FORMAT], labels)
        if old_ok and size == 256:
            return True, ""
        return False, reason

    def _current_files(self, size: int, modes: tuple[str, ...]) -> list[Path]:
        ckpt = self.config.checkpoint_dir
        names = [f"SadTalker_V0.0.2_{size}.safetensors"] + sorted({CURRENT_MAPPING[m] for m in modes})
        return [ckpt / n for n in names]

    def enhancer_status(self) -> tuple[bool, str]:
        if not self.config.enhancer:
            return False, "no enhancer configured"
        if not self.config.dir:
            return False, "PAKSA_SADTALKER_DIR is not set"
        return check_all([Path(self.config.dir) / "gfpgan" / "weights" / n for n in ENHANCER_WEIGHTS], self.config.path_labels)

    def unsuitable_reason(self, inp: EngineInput) -> str:
        ok, reason = self.weights_status(256, (inp.request.preprocess,))
        return "" if ok else f"SadTalker weights: {reason}"

    # --- render ------------------------------------------------------

    def render(self, inp: EngineInput, progress: ProgressFn) -> FrameStream:
        avail = self.availability()
        if not avail.available:
            raise EngineFailed(f"SadTalker is not available: {avail.reason}")
        mode = inp.request.preprocess
        strict = self.config.strict_preprocess or inp.request.strict_preprocess
        notes: list[str] = []
        best = [0.0]

        def monotonic(percent: float, stage: str) -> None:
            # A crop retry starts its bars again; the job's progress must not move back.
            best[0] = max(best[0], percent)
            progress(best[0], stage)

        retried = False
        try:
            video = self._attempt(inp, mode, monotonic, notes)
        except EngineFailed as first:
            crop_ok, _ = self.weights_status(256, ("crop",))
            if mode not in FULL_MODES or strict or not crop_ok:
                raise
            notes.append(f"SadTalker preprocess '{mode}' failed ({first.detail}); retried with 'crop'")
            logger.warning("SadTalker %s failed (%s); retrying with crop", mode, first.detail)
            video = self._attempt(inp, "crop", monotonic, notes)
            retried = True
        frames, changed_box = _frames_in_place(video, inp, face_crop=retried, notes=notes)
        progress(100.0, "SadTalker: done")
        return FrameStream(frames=_exact_count(frames, inp.frame_count), frame_count=inp.frame_count, notes=notes,
                           changed_box=changed_box)

    def _size_for(self, inp: EngineInput, mode: str) -> int:
        if inp.request.resolution == "1080p" and self.weights_status(512, (mode,))[0]:
            return 512
        return 256

    def build_args(self, inp: EngineInput, mode: str, result_dir: Path, source_image: Path) -> list[str]:
        """The argument list after ``inference.py`` for one attempt."""
        cfg = self.config
        size = self._size_for(inp, mode)
        expression = EMOTION_EXPRESSION_SCALE.get(inp.request.emotion, 1.0) * STYLE_EXPRESSION_FACTOR.get(inp.request.style, 1.0)
        args = [
            # Absolute paths: the child's working directory is the checkout.
            "--driven_audio", str(Path(inp.audio.path).absolute()), "--source_image", str(Path(source_image).absolute()),
            "--checkpoint_dir", str(cfg.checkpoint_dir.absolute()), "--result_dir", str(Path(result_dir).absolute()),
            "--preprocess", mode, "--size", str(size),
            "--expression_scale", f"{expression:.2f}", "--pose_style", str(STYLE_POSE.get(inp.request.style, 0)),
            "--batch_size", str(cfg.batch_size),
        ]
        if mode in FULL_MODES:
            args.append("--still")
        if not check_all(self._current_files(size, (mode,)))[0]:
            args.append("--old_version")  # only the old-format checkpoint set is present
        if not _cuda_available():
            args.append("--cpu")
        if self.enhancer_status()[0]:
            args += ["--enhancer", cfg.enhancer]
        return args

    def _attempt(self, inp: EngineInput, mode: str, progress: ProgressFn, notes: list[str]) -> Path:
        work = Path(inp.request.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        result_dir = Path(tempfile.mkdtemp(prefix=f"sadtalker-{mode}-", dir=work)).absolute()
        source = self._source_image(inp, work)
        if self.config.enhancer and not self.enhancer_status()[0]:
            notes.append(f"face enhancer skipped: {self.enhancer_status()[1]}")
        args = self.build_args(inp, mode, result_dir, source)
        stages = ["landmark Det", "3DMM Extraction In Video", "mel", "audio2exp", "Face Renderer"]
        stages += ["seamlessClone"] if mode in FULL_MODES else []
        stages += ["Face Enhancer"] if "--enhancer" in args else []
        timeout = self.config.timeout_base_s + self.config.timeout_per_audio_s * inp.audio.duration
        run = self._run(args, timeout, StageProgress(stages), progress)
        video = run.video or _find_output(result_dir)
        if video is None:
            raise EngineFailed(f"SadTalker ({mode}) produced no video" + (f": {run.error}" if run.error else ""))
        _check_output(video, inp.audio.duration)
        return video

    def _source_image(self, inp: EngineInput, work: Path) -> Path:
        if inp.request.image_path and Path(inp.request.image_path).is_file():
            return Path(inp.request.image_path)
        import cv2

        path = work / "sadtalker_source.png"
        if not cv2.imwrite(str(path), inp.image):
            raise EngineFailed("could not write the source image for SadTalker")
        return path

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        threads = str(max(1, int(self.config.threads)))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, NUMEXPR_MAX_THREADS=threads, PYTHONUNBUFFERED="1")
        return env

    def _run(self, args: list[str], timeout: float, stages: StageProgress, progress: ProgressFn) -> _Run:
        cmd = [self.config.python, "inference.py", *args]
        logger.info("running SadTalker: %s", " ".join(cmd))
        code, text = run_process(cmd, cwd=Path(self.config.dir), env=self._child_env(), timeout=timeout,
                                 stages=stages, progress=progress, what="SadTalker")
        if NO_FACE in text:
            raise EngineFailed("SadTalker found no face in the source image")
        if code != 0:
            raise EngineFailed(f"SadTalker failed (exit {code}): {self.config.path_labels.scrub(tail_line(text))}")
        named = next((m.group(1) for m in map(NAME_RE.search, reversed(text.splitlines())) if m), None)
        video = None
        if named:
            video = Path(named) if Path(named).is_absolute() else Path(self.config.dir) / named
        return _Run(video=video if video and video.is_file() else None, error=self.config.path_labels.scrub(tail_line(text)))


def _find_output(result_dir: Path) -> Optional[Path]:
    """The single .mp4 SadTalker left at the top of this attempt's own result dir."""
    videos = sorted(result_dir.glob("*.mp4"))
    return videos[0] if len(videos) == 1 else None


def _check_output(video: Path, audio_duration: float) -> None:
    try:
        info = media.probe(video)
    except MediaError as exc:
        raise EngineFailed(f"SadTalker wrote an unreadable video: {exc.detail}") from exc
    if not info.has_video:
        raise EngineFailed("SadTalker's output has no video stream")
    tolerance = max(DURATION_TOLERANCE_S, 0.05 * audio_duration)
    if abs(info.duration - audio_duration) > tolerance:
        raise EngineFailed(f"SadTalker's video lasts {info.duration:.2f} s, the audio {audio_duration:.2f} s")


def _frames_in_place(video: Path, inp: EngineInput, *, face_crop: bool, notes: list[str]):
    """(frames at the output size, the box they may change or None). ``face_crop``: the video is
    SadTalker's crop of a photo asked for whole (the retry), pasted back where it was cut out."""
    info = media.probe(video)
    size = (info.width, info.height)
    if not face_crop:
        if placement.is_fitted_size(inp, *size):
            return media.read_frames(video, size=inp.geometry.size, fps=inp.request.fps), None
        return placement.letterboxed_frames(video, inp, size), None
    first = next(media.read_frames(video, size=size, fps=inp.request.fps), None)
    if first is None:
        raise EngineFailed("SadTalker's video has no frames")
    where = placement.place_crop(first, inp)
    if isinstance(where, str):
        notes.append(f"SadTalker output is a face crop fitted into the full-frame geometry: {where}")
        return placement.letterboxed_frames(video, inp, size), None
    notes.append("SadTalker output is a face crop, pasted back into the photo where it was cut out")
    return placement.pasted_frames(video, inp, where, size), placement.pasted_box(where, size, inp.geometry.size)


def _exact_count(frames: Iterator[np.ndarray], count: int) -> Iterator[np.ndarray]:
    last = None
    for i, frame in enumerate(frames):
        if i >= count:
            break
        last = frame
        yield frame
    else:
        if last is None:
            raise EngineFailed("SadTalker's video has no frames")
        for _ in range(count - (i + 1)):
            yield last


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # no torch in this process: assume the CPU
        return False
