"""The one ffmpeg/ffprobe wrapper.

Command lines and filter graphs are built with ``ffmpeg-python``; every one runs
through ``run`` (blocking) or ``_spawn`` (raw frames piped in or out): argument
lists, never a shell, and failures become ``MediaError`` carrying ffmpeg's stderr.
The error's message (which users see) names our files by their names only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import ffmpeg
import numpy as np

from generation.pipeline.errors import MediaError
from generation.pipeline.types import Encoding

logger = logging.getLogger(__name__)

SPEECH_SAMPLE_RATE_HZ = 16000
OUTPUT_AUDIO_RATE_HZ = 44100
PROBE_TIMEOUT_S = 20
QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")
NO_AUDIO_STREAM = "Stream map '0:a:0' matches no streams"  # ffmpeg's words when a file has no audio


def ffmpeg_binary() -> str:
    return shutil.which("ffmpeg") or "ffmpeg"


def ffprobe_binary() -> str:
    return shutil.which("ffprobe") or "ffprobe"


def run(args: list[str], *, timeout: float | None = None, what: str = "ffmpeg", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run one ffmpeg/ffprobe argument list to the end; MediaError (with stderr) unless it succeeds."""
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout, check=False, cwd=cwd)
    except FileNotFoundError as exc:
        raise MediaError(f"{what} is not installed", stderr=str(exc)) from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{what} timed out after {timeout:.0f} s", stderr=(exc.stderr or b"").decode(errors="replace")) from exc
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        raise MediaError(f"{what} failed: {_last_line(stderr, args)}", stderr=stderr)
    return proc


def _spawn(args: list[str], *, stdin=None, stdout=None) -> subprocess.Popen:
    """Start a streaming ffmpeg (frames through a pipe); stderr is captured for the error."""
    try:
        return subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise MediaError("ffmpeg is not installed", stderr=str(exc)) from exc


def _compile(stream) -> list[str]:
    """An ffmpeg-python output node as an argument list: quiet, overwriting, our binary."""
    return stream.global_args(*QUIET).overwrite_output().compile(cmd=ffmpeg_binary())


def _last_line(stderr: str, args: list[str]) -> str:
    """ffmpeg's last word, with the paths we passed it cut to their file names."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else "no output"
    for arg in sorted((a for a in args[1:] if os.sep in a), key=len, reverse=True):
        line = line.replace(arg, Path(arg).name)
    return line[:300]


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    has_audio: bool
    has_video: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    pix_fmt: str = ""
    format_name: str = ""
    nb_frames: int = 0


def probe(path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> MediaInfo:
    """ffprobe a file; raises MediaError when it is not media ffmpeg can read.

    The arguments are ``ffmpeg.probe``'s, run through ``run`` for its timeout and errors.
    """
    args = [ffprobe_binary(), "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    out = run(args, timeout=timeout, what="ffprobe").stdout
    try:
        info = json.loads(out or b"{}")
    except json.JSONDecodeError as exc:
        raise MediaError("ffprobe returned unreadable output") from exc
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = info.get("format", {})
    duration = _float(fmt.get("duration")) or max(_float((s or {}).get("duration")) for s in (video, audio, {}))
    fps = 0.0
    if video and video.get("avg_frame_rate", "0/0") not in ("0/0", ""):
        num, _, den = video["avg_frame_rate"].partition("/")
        fps = float(num) / float(den or 1) if float(den or 1) else 0.0
    return MediaInfo(
        duration=duration,
        has_audio=audio is not None,
        has_video=video is not None,
        width=int((video or {}).get("width", 0)),
        height=int((video or {}).get("height", 0)),
        fps=fps,
        video_codec=(video or {}).get("codec_name", ""),
        audio_codec=(audio or {}).get("codec_name", ""),
        pix_fmt=(video or {}).get("pix_fmt", ""),
        format_name=fmt.get("format_name", ""),
        nb_frames=int(_float((video or {}).get("nb_frames"))),
    )


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def normalize_audio(src: Path, dst: Path, *, sample_rate: int = SPEECH_SAMPLE_RATE_HZ, max_seconds: float | None = None) -> Path:
    """Decode the first audio stream of any file ffmpeg reads to mono 16-bit PCM WAV at ``sample_rate``.

    A file with no audio stream raises MediaError "<name> has no audio stream": ffmpeg's own
    failure says so, so no ffprobe (~0.1 s of start-up) has to run first to ask.
    """
    limit = {"t": f"{max_seconds:.3f}"} if max_seconds else {}
    out = ffmpeg.input(str(src))["a:0"].output(str(dst), ac=1, ar=sample_rate, acodec="pcm_s16le", **limit)
    try:
        run(_compile(out), what="ffmpeg (audio decode)")
    except MediaError as exc:
        if NO_AUDIO_STREAM in exc.stderr:
            raise MediaError(f"{Path(src).name} has no audio stream", stderr=exc.stderr) from None
        raise
    return dst


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV as mono float32 in [-1, 1] and its sample rate."""
    with wave.open(str(path), "rb") as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        raw = wav.readframes(wav.getnframes())
    if width != 2:
        raise MediaError(f"expected 16-bit PCM, got {8 * width}-bit")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return path


def _aac(encoding: Encoding) -> dict:
    """The output's audio codec options: AAC at 44.1 kHz."""
    return {"acodec": "aac", "audio_bitrate": encoding.audio_bitrate, "ar": OUTPUT_AUDIO_RATE_HZ}


def _mp4(video, audio, out: Path, duration: float, encoding: Encoding, *, audio_encoded: bool = False, **extra):
    """The output node every rendered MP4 shares: H.264 yuv420p + AAC, cut to the audio, +faststart.

    ``audio_encoded``: the audio input already is that AAC track (``AudioEncode``), copied as is.
    """
    return ffmpeg.output(
        video, audio, str(out),
        vcodec="libx264", preset=encoding.preset, crf=encoding.crf, pix_fmt="yuv420p", threads=encoding.threads,
        **({"acodec": "copy"} if audio_encoded else _aac(encoding)),
        t=f"{duration:.3f}", movflags="+faststart", **extra,
    )


class AudioEncode:
    """The output's AAC track, encoded from the speech WAV by an ffmpeg running in the background.

    Started once the speech is normalised, it runs on the other core while the speech and
    the face are analysed; the frame encoder then copies the track instead of encoding it
    beside x264 (AAC costs about as much CPU as x264 at 480p ultrafast). Use as a context
    manager: ``path()`` waits for the file, the exit stops an ffmpeg still running.
    """

    def __init__(self, wav: Path, out: Path, *, encoding: Encoding = Encoding()):
        self.out = out
        self.args = _compile(ffmpeg.input(str(wav))["a:0"].output(str(out), **_aac(encoding)))
        self._proc: Optional[subprocess.Popen] = None
        self._error: Optional[MediaError] = None

    def __enter__(self) -> AudioEncode:
        self._proc = _spawn(self.args, stdout=subprocess.DEVNULL)
        return self

    def path(self) -> Path:
        """The finished AAC file (waits for it); MediaError if ffmpeg failed."""
        if self._error is None and self._proc.returncode is None:
            _, stderr = self._proc.communicate()
            if self._proc.returncode != 0:
                text = stderr.decode(errors="replace")
                self._error = MediaError(f"ffmpeg (audio encode) failed: {_last_line(text, self.args)}", stderr=text)
        if self._error is not None:
            raise self._error
        return self.out

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._proc.returncode is None:
            self._proc.kill()
            self._proc.communicate()


def still_video(image_path: Path, audio_path: Path, out: Path, *, fps: int, size: tuple[int, int], duration: float,
                encoding: Encoding = Encoding(), audio_encoded: bool = False) -> Path:
    """One image held for the whole audio (``audio_encoded``: ``audio_path`` is an ``AudioEncode`` track)."""
    w, h = size
    video = (
        ffmpeg.input(str(image_path), loop=1, framerate=fps)["v:0"]
        .filter("scale", w, h, flags="lanczos").filter("setsar", 1).filter("format", "yuv420p")
    )
    audio = ffmpeg.input(str(audio_path))["a:0"]
    node = _mp4(video, audio, out, duration, encoding, audio_encoded=audio_encoded, r=fps, tune="stillimage")
    run(_compile(node), what="ffmpeg (still video)")
    return out


class FrameEncoder:
    """Frames piped as raw video into ffmpeg, muxed with the audio. No frame files.

    Use as a context manager; ``write`` each BGR frame, and the exit finishes the
    file (or kills ffmpeg and removes the partial file on error). ``audio_encoded``:
    ``audio_path`` is an ``AudioEncode`` track, copied as is.
    """

    def __init__(self, out: Path, *, size: tuple[int, int], fps: int, audio_path: Path, duration: float,
                 encoding: Encoding = Encoding(), audio_encoded: bool = False):
        self.out, self.size, self.fps = out, size, fps
        w, h = size
        # Frames go down the pipe as yuv420p, converted here by OpenCV (BT.601
        # limited range, like ffmpeg's default): ~1 ms per 1080p frame against
        # ~5 ms in ffmpeg's own bgr24 converter, and half the bytes through the
        # pipe. yuv420p needs even sides; odd ones go as bgr24.
        self._yuv = w % 2 == 0 and h % 2 == 0
        frames = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="yuv420p" if self._yuv else "bgr24", s=f"{w}x{h}", framerate=fps)
        audio = ffmpeg.input(str(audio_path))["a:0"]
        self.args = _compile(_mp4(frames["v:0"], audio, out, duration, encoding, audio_encoded=audio_encoded))
        self._proc: Optional[subprocess.Popen] = None
        self._stderr: list[bytes] = []
        self.frames_written = 0

    def __enter__(self) -> FrameEncoder:
        self._proc = _spawn(self.args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        # Drain stderr on a thread so a chatty ffmpeg never blocks on a full pipe.
        self._reader = threading.Thread(target=lambda: self._stderr.append(self._proc.stderr.read()), daemon=True)
        self._reader.start()
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            raise MediaError(f"frame is {frame.shape[1]}x{frame.shape[0]}, encoder expects {self.size[0]}x{self.size[1]}")
        try:
            if self._yuv:
                import cv2

                data = cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_BGR2YUV_I420)
            else:
                data = np.ascontiguousarray(frame, dtype=np.uint8)
            self._proc.stdin.write(data.data)  # the array's own buffer: no tobytes() copy
        except BrokenPipeError as exc:
            self._proc.wait()
            self._reader.join(timeout=5)
            stderr = b"".join(self._stderr).decode(errors="replace")
            raise MediaError(f"ffmpeg (encode) stopped: {_last_line(stderr, self.args)}", stderr=stderr) from exc
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        proc = self._proc
        if exc_type is not None:
            proc.kill()
            proc.wait()
            self.out.unlink(missing_ok=True)
            return
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        code = proc.wait()
        self._reader.join(timeout=5)
        if code != 0:
            stderr = b"".join(self._stderr).decode(errors="replace")
            self.out.unlink(missing_ok=True)
            raise MediaError(f"ffmpeg (encode) failed: {_last_line(stderr, self.args)}", stderr=stderr)


def read_frames(path: Path, *, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """Decode a video as BGR frames scaled to ``size`` at ``fps``."""
    w, h = size
    decode = (
        ffmpeg.input(str(path))["v:0"].filter("fps", fps=fps).filter("scale", w, h, flags="bicubic")
        .output("pipe:", format="rawvideo", pix_fmt="bgr24")
    )
    args = _compile(decode)
    proc = _spawn(args, stdout=subprocess.PIPE)
    frame_bytes = w * h * 3
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3).copy()
    finally:
        proc.stdout.close()
        proc.kill() if proc.poll() is None else None
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.wait() not in (0, -9) and stderr.strip():
            raise MediaError(f"ffmpeg (decode) failed: {_last_line(stderr, args)}", stderr=stderr)


CAPTION_STYLE = "FontSize=20,Outline=2,MarginV=24"  # libass style overrides (ASS units)


def burn_subtitles(video: Path, subtitles: Path, out: Path, *, encoding: Encoding = Encoding(),
                   font_name: str | None = None, fonts_dir: Path | None = None) -> Path:
    """Render an SRT/VTT file into the picture (ffmpeg's subtitles filter); audio is copied.

    ``font_name`` (a fontconfig family, e.g. "Noto Sans Devanagari") and ``fonts_dir``
    (the folder holding it) pick a font that covers the captions' script; libass
    otherwise takes its default, which draws boxes for scripts it lacks.
    The filter takes a file name inside a filter graph, where ':' and quotes are
    special; running in the subtitles' folder lets us pass a bare, safe name.
    """
    safe_name = "burn-in" + subtitles.suffix
    local = subtitles.parent / safe_name
    if local != subtitles:
        local.write_bytes(subtitles.read_bytes())
    style = CAPTION_STYLE + (f",FontName={font_name}" if font_name else "")
    options = {"force_style": style}
    if fonts_dir is not None:
        options["fontsdir"] = str(Path(fonts_dir).resolve())
    source = ffmpeg.input(str(video.resolve()))
    picture = source["v:0"].filter("subtitles", safe_name, **options)
    out_node = ffmpeg.output(
        picture, source["a:0"], str(out.resolve()),
        vcodec="libx264", preset=encoding.preset, crf=encoding.crf, pix_fmt="yuv420p", threads=encoding.threads,
        acodec="copy", movflags="+faststart",
    )
    run(_compile(out_node), what="ffmpeg (caption burn-in)", cwd=subtitles.parent)
    return out


def extract_frame(path: Path, at_seconds: float, out_png: Path) -> Path:
    node = ffmpeg.input(str(path), ss=f"{at_seconds:.3f}").output(str(out_png), **{"frames:v": 1})
    run(_compile(node), what="ffmpeg (frame extract)")
    return out_png


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    try:
        out = run([ffmpeg_binary(), "-hide_banner", "-version"], timeout=10).stdout.decode(errors="replace")
    except MediaError:
        return ""
    match = re.search(r"ffmpeg version (\S+)", out)
    return match.group(1) if match else ""


@functools.lru_cache(maxsize=1)
def ffmpeg_filters() -> frozenset[str]:
    try:
        out = run([ffmpeg_binary(), "-hide_banner", "-filters"], timeout=10).stdout.decode(errors="replace")
    except MediaError:
        return frozenset()
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # Rows look like " TSC zoompan  V->V  Apply Zoom & Pan effect."
        if len(parts) >= 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)
