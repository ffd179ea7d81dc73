"""Wav2Lip, run in-process from our own generator module on the CPU.

The official checkpoints (``wav2lip.pth`` preferred, then ``wav2lip_gan.pth``
under the models directory) load unchanged into ``Wav2LipGenerator``. The
face box comes from our face mesh, not Wav2Lip's detector; the 96x96 output
is pasted back through a feathered lower-face mask so no box edge shows.
Head motion and blinks are not layered on top: the output is the still base
frame with a moving mouth.

torch and scipy load only when a checkpoint file validates (the engine will run);
learning that there is none reads the directory and file headers only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from generation.pipeline import face as face_mod
from generation.pipeline.engines.base import Availability, Engine
from generation.pipeline.engines.checkpoints import NO_LABELS, PathLabels, validate_checkpoint
from generation.pipeline.engines.wav2lip import FACE_SIZE
from generation.pipeline.errors import EngineFailed, PipelineError
from generation.pipeline.types import EngineInput, FaceAnalysis, FrameStream, ProgressFn

logger = logging.getLogger(__name__)

CHECKPOINT_NAMES = ("wav2lip.pth", "wav2lip_gan.pth")
# Wav2Lip pads its detector box by 10 px at the bottom (``--pads 0 10 0 0``);
# expressed as a fraction of the box height at its 96 px working size.
BOTTOM_PAD_FRACTION = 10.0 / FACE_SIZE
PROGRESS_INTERVAL_S = 0.5


class Wav2LipEngine(Engine):
    name = "wav2lip"

    def __init__(self, checkpoint_dir: Path, *, device: str = "cpu", batch_size: int = 8, threads: int = 0,
                 labels: PathLabels = NO_LABELS):
        self.checkpoint_dir = Path(checkpoint_dir)
        self.labels = labels  # how paths read in reasons users see
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.threads = int(threads)
        self._lock = threading.Lock()
        self._availability: Optional[Availability] = None
        self._model = None
        self._checkpoint: Optional[Path] = None

    # --- availability -------------------------------------------------

    def availability(self) -> Availability:
        if self._availability is None:
            self.warm()
        return self._availability

    def warm(self) -> Availability:
        """Validate and load the checkpoint once (safe to call from a background thread)."""
        with self._lock:
            if self._availability is None:
                self._availability = self._load()
        return self._availability

    @property
    def model_loaded(self) -> bool:
        """Whether this process holds the generator (a web process that adopted a check does not)."""
        return self._model is not None

    @property
    def checkpoint(self) -> Optional[Path]:
        """The checkpoint the engine uses (None until it was checked and one loaded)."""
        return self._checkpoint

    def adopt(self, availability: Availability, checkpoint: Optional[Path]) -> None:
        """Take the answer of a check made in another process (one that loaded ``checkpoint``
        and exited), so this one answers without holding the model. A render loads it then."""
        with self._lock:
            self._availability, self._checkpoint = availability, checkpoint

    def _loaded_model(self):
        with self._lock:
            if self._model is None:
                self._model = load_generator(self._checkpoint, self.device, self.labels)
        return self._model

    def _load(self) -> Availability:
        reasons = []
        for name in CHECKPOINT_NAMES:
            path = self.checkpoint_dir / name
            if not path.exists():
                continue
            check = validate_checkpoint(path, self.labels)
            if not check.ok:
                reasons.append(check.reason)
                continue
            try:
                self._model = load_generator(path, self.device, self.labels)
            except EngineFailed as exc:
                reasons.append(exc.detail)
                continue
            self._checkpoint = path
            logger.info("Wav2Lip loaded from %s", path)
            return Availability(True, "", {"checkpoint": self.labels.show(path)})
        if not reasons:
            reasons.append(f"{self.labels.show(self.checkpoint_dir)}/: no {' or '.join(CHECKPOINT_NAMES)}")
        return Availability(False, "; ".join(reasons))

    def unsuitable_reason(self, inp: EngineInput) -> str:
        return "" if inp.face is not None else "Wav2Lip needs a detected face"

    # --- render -------------------------------------------------------

    def render(self, inp: EngineInput, progress: ProgressFn) -> FrameStream:
        if not self.availability().available:
            raise EngineFailed(f"Wav2Lip is not available: {self._availability.reason}")
        if inp.face is None:
            raise EngineFailed("Wav2Lip needs a detected face")
        from generation.pipeline.engines.wav2lip.audio import mel_windows, melspectrogram

        try:
            base = face_mod.crop_to_geometry(inp.image, inp.geometry)
            face = face_mod.transform_face(inp.face, inp.geometry)
            box = face_box(face, base.shape[1], base.shape[0])
            x0, y0, x1, y1 = box
            crop = cv2.resize(base[y0:y1, x0:x1], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
            mel = melspectrogram(inp.audio.samples, inp.audio.sample_rate)
            windows = mel_windows(mel, inp.request.fps, inp.frame_count)
            mouths = self._infer(crop, windows, progress)
            mask = lower_face_mask(face, box)
        except PipelineError:
            raise
        except Exception as exc:  # torch/cv2 errors become a chain fall-through
            logger.exception("Wav2Lip render failed")
            raise EngineFailed(f"Wav2Lip failed: {self.labels.scrub(str(exc))}") from exc
        progress(100.0, "Wav2Lip: done")
        return FrameStream(frames=_compose(base, mouths, box, mask), frame_count=inp.frame_count,
                           notes=[f"wav2lip checkpoint {self._checkpoint.name}"])

    def _infer(self, crop: np.ndarray, windows: np.ndarray, progress: ProgressFn) -> np.ndarray:
        import torch

        model = self._loaded_model()
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        ref = crop.astype(np.float32) / 255.0
        masked = ref.copy()
        masked[FACE_SIZE // 2:] = 0.0
        face_in = torch.from_numpy(np.concatenate([masked, ref], axis=2).transpose(2, 0, 1).copy())
        n = len(windows)
        out = np.empty((n, FACE_SIZE, FACE_SIZE, 3), dtype=np.uint8)
        last_report = 0.0
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                stop = min(n, start + self.batch_size)
                audio = torch.from_numpy(windows[start:stop]).unsqueeze(1).to(self.device)
                faces = face_in.unsqueeze(0).expand(stop - start, -1, -1, -1).to(self.device)
                pred = model(audio, faces).cpu().numpy().transpose(0, 2, 3, 1)
                out[start:stop] = np.clip(pred * 255.0 + 0.5, 0, 255).astype(np.uint8)
                now = time.monotonic()
                if now - last_report >= PROGRESS_INTERVAL_S or stop == n:
                    last_report = now
                    progress(100.0 * stop / n, f"Wav2Lip: frame {stop}/{n}")
        return out


def load_generator(path: Path, device: str = "cpu", labels: PathLabels = NO_LABELS):
    """An eval-mode generator with the checkpoint's weights (strict); EngineFailed with the reason."""
    import torch

    from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, strip_module_prefix

    shown = labels.show(path)
    try:
        ckpt = torch.load(str(path), map_location=device, weights_only=True)
    except Exception as exc:
        raise EngineFailed(f"{shown}: cannot be loaded ({exc.__class__.__name__}: {labels.scrub(str(exc))[:200]})") from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise EngineFailed(f"{shown}: holds no state_dict")
    model = Wav2LipGenerator()
    expected = model.state_dict()
    state = strip_module_prefix(state)
    missing = [k for k in expected if k not in state]
    if missing:
        raise EngineFailed(f"{shown}: missing key module.{missing[0]}" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""))
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        raise EngineFailed(f"{shown}: unexpected key module.{unexpected[0]}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise EngineFailed(f"{shown}: module.{key} has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EngineFailed(f"{shown}: {labels.scrub(str(exc))[:300]}") from exc
    return model.to(device).eval()


def face_box(face: FaceAnalysis, width: int, height: int) -> tuple[int, int, int, int]:
    """The landmark box padded at the bottom, kept inside the frame."""
    x0, y0, x1, y1 = face.bbox
    pad = int(round((y1 - y0) * BOTTOM_PAD_FRACTION))
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(width, int(x1)), min(height, int(y1) + pad)
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise EngineFailed("the face is too small for Wav2Lip")
    return x0, y0, x1, y1


def lower_face_mask(face: FaceAnalysis, box: tuple[int, int, int, int]) -> np.ndarray:
    """Float mask (box-sized, 0..1): the face below the nose, feathered, zero at the box edge."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    pts = face.points - np.array([x0, y0], dtype=np.float32)
    oval = pts[face_mod.FACE_OVAL]
    # The model regenerates the lower half of its crop; the mask covers exactly that part of the face.
    cut = bh * 0.5
    region = np.vstack([oval[oval[:, 1] >= cut], pts[[61, 291, 2, 98, 327]]])
    # Extend the region sideways to the cheeks at the cut line so the hull is not a sliver.
    left, right = pts[face_mod.FACE_OVAL][:, 0].min(), pts[face_mod.FACE_OVAL][:, 0].max()
    region = np.vstack([region, [[left, cut], [right, cut]]])
    region[:, 1] = np.maximum(region[:, 1], cut)  # nothing above the regenerated half
    mask = np.zeros((bh, bw), dtype=np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(region.astype(np.int32)), 255)
    feather = max(3, int(round(0.06 * min(bw, bh))))
    # Erode first so the blurred edge stays inside the hull and well away from the box border.
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * feather + 1, 2 * feather + 1)))
    mask[:feather] = 0
    mask[-feather:] = 0
    mask[:, :feather] = 0
    mask[:, -feather:] = 0
    k = 2 * feather + 1
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (k, k), feather / 2.0)
    soft[:2], soft[-2:], soft[:, :2], soft[:, -2:] = 0.0, 0.0, 0.0, 0.0
    return soft[..., None]


def _compose(base: np.ndarray, mouths: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray) -> Iterator[np.ndarray]:
    x0, y0, x1, y1 = box
    region = base[y0:y1, x0:x1].astype(np.float32)
    for mouth in mouths:
        pred = cv2.resize(mouth, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        frame = base.copy()
        frame[y0:y1, x0:x1] = np.clip(region + (pred - region) * mask + 0.5, 0, 255).astype(np.uint8)
        yield frame
