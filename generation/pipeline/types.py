"""Dataclasses that flow between pipeline stages. Django-free.

Units: times in seconds, images as BGR ``uint8`` arrays (OpenCV order),
landmark coordinates in pixels of the image they were measured on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from generation.pipeline.choices import RESOLUTION_HEIGHTS

# (progress 0-100 of the whole job, human stage name). The callback may raise
# JobCancelled; every long loop calls it at least every ~0.5 s.
ProgressFn = Callable[[float, str], None]



@dataclass(frozen=True)
class Phone:
    """One phone: IPA (espeak-ng), ARPAbet (PocketSphinx) or Festival label, or ``SIL``; see speech/inventory.py."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass
class PhoneTimeline:
    phones: list[Phone]
    words: list[Word]
    duration: float
    method: str  # "tts-events" | "tts-words" | "align-dtw" | "align" | "allphone" | "energy"
    # Frame-rate-free loudness envelope: (times, rms 0..1); used for head motion.
    envelope_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    envelope: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: list[str] = field(default_factory=list)
    # Words recognised without a transcript: their mean posterior (None when the words
    # came from known text or nothing was recognised).
    transcript_confidence: Optional[float] = None


@dataclass
class AudioClip:
    """Speech normalised once: mono float32 in [-1, 1] at ``sample_rate``."""

    path: Path  # the normalised WAV on disk (16 kHz mono s16)
    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass
class FaceAnalysis:
    """The face mesh of one image, found once."""

    landmarks: np.ndarray  # (478, 3) float32: x, y in pixels, z in pixel-ish units
    image_size: tuple[int, int]  # (width, height)
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 of the landmark hull, pixels

    @property
    def points(self) -> np.ndarray:
        return self.landmarks[:, :2]


@dataclass(frozen=True)
class MouthParams:
    """Per-frame mouth targets, each nominally 0..1 (see visemes.py for meaning)."""

    jaw_open: float = 0.0
    lip_width: float = 0.0  # +: spread (EE), -: narrowed (OO)
    rounding: float = 0.0  # protrusion/rounding (OO, W)
    upper_lip_raise: float = 0.0
    lip_press: float = 0.0  # bilabial closure strength (P, B, M)
    lower_lip_tuck: float = 0.0  # F/V: lower lip to upper teeth
    teeth: float = 0.0  # visibility of upper teeth
    tongue: float = 0.0  # tongue tip visible (L, TH, D)


@dataclass
class MouthTrack:
    """Mouth parameters sampled at the output frame rate."""

    fps: int
    frames: list[MouthParams]
    # Per-frame speech energy 0..1, at the same fps (head motion follows it).
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class BackgroundOptions:
    mode: str = "none"
    color: tuple[int, int, int] = (0, 0, 0)  # BGR
    image_path: Optional[Path] = None
    chroma_color: tuple[int, int, int] = (0, 255, 0)  # BGR
    similarity: float = 0.1
    blend: float = 0.05
    aspect: float = 2.39  # cinematic letterbox aspect


@dataclass(frozen=True)
class Encoding:
    """How output MP4s are encoded (H.264 + AAC); the service fills it from settings.

    ultrafast: the encoder runs beside the frame generator on a 2-core box and must
    keep up at <=5 ms per 480p frame (superfast measured ~6 ms CPU, ultrafast ~3.5-4);
    CRF 20 keeps it visually clean, at ~1.8x superfast's file size (~1 Mbit/s at 480p).
    -tune zerolatency measured no faster (it drops frame threading).
    """

    preset: str = "ultrafast"  # x264 preset (PAKSA_X264_PRESET)
    crf: int = 20  # x264 constant rate factor, 0-51, lower is better (PAKSA_X264_CRF)
    threads: int = 0  # ffmpeg -threads; 0 lets ffmpeg choose
    audio_bitrate: str = "128k"  # AAC


@dataclass
class RenderRequest:
    """Everything a render needs; built by the service from a job."""

    output_path: Path
    work_dir: Path
    image_path: Optional[Path] = None  # None: the synthesised default avatar
    audio_path: Optional[Path] = None  # None: ``text`` is synthesised
    text: str = ""
    transcript: str = ""  # known words of uploaded audio, for alignment/captions
    # BCP-47 language of the audio/transcript ("es", "pt-BR"); "" = detect it from the transcript,
    # else English. Text spoken by TTS uses the voice's language instead.
    language: str = ""
    voice: str = "en-US-JennyNeural"
    resolution: str = "720p"
    fps: int = 25
    emotion: str = "neutral"
    style: str = "natural"
    preprocess: str = "full"
    strict_preprocess: bool = False
    prefer_wav2lip: bool = False
    disabled_engines: tuple[str, ...] = ()
    background: BackgroundOptions = field(default_factory=BackgroundOptions)
    encoding: Encoding = field(default_factory=Encoding)
    captions: str = "auto"  # auto: when the words are known | file | burn | none
    expression_engine: str = "auto"  # expression estimator for the source face; "none" skips it
    # Blendshapes of the source face (ARKit names), from the expression stage.
    expression: Optional[dict[str, float]] = None

    @property
    def height(self) -> int:
        return RESOLUTION_HEIGHTS[self.resolution]


@dataclass
class OutputGeometry:
    """Where the output frame comes from in the source image, and its size.

    ``source_box`` is (x0, y0, x1, y1) in source pixels and may extend past
    the image (padded with the border); the box is scaled to ``size``.
    """

    source_box: tuple[int, int, int, int]
    size: tuple[int, int]  # (width, height), both even
    animate_margin: float = 0.0  # extra fraction around the face the warp may touch


@dataclass
class EngineInput:
    request: RenderRequest
    image: np.ndarray  # source BGR image
    audio: AudioClip
    timeline: PhoneTimeline
    face: Optional[FaceAnalysis]
    geometry: OutputGeometry
    frame_count: int


@dataclass
class FrameStream:
    """What an engine hands the orchestrator: frames of ``geometry.size`` at the fps.

    A ``static`` stream yields exactly one frame, held for ``frame_count`` frames.
    """

    frames: Iterator[np.ndarray]
    frame_count: int
    static: bool = False
    notes: list[str] = field(default_factory=list)
    # The part of the frame the engine may change (x0, y0, x1, y1); None = anywhere.
    # Lets the background stage keep a static background's mask and blur cached.
    changed_box: Optional[tuple[int, int, int, int]] = None


@dataclass
class SkippedEngine:
    engine: str
    reason: str


@dataclass
class RenderResult:
    output_path: Path
    engine: str
    duration: float
    frame_count: int
    width: int
    height: int
    fps: int
    fallback_reasons: list[SkippedEngine] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tts_provider: str = ""
    timeline: Optional[PhoneTimeline] = None
    expression: Optional[dict] = None
    captions_vtt: Optional[Path] = None
    captions_srt: Optional[Path] = None
    captions_note: str = ""
    notes: list[str] = field(default_factory=list)  # what the user should know: skipped TTS providers, engine notes
    # How the mouth got its timing: {"method", "language", "language_source", "notes"} (see render.py).
    lip_sync: dict = field(default_factory=dict)
