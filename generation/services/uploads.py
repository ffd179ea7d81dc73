"""Checks on uploaded files: decoded for real, never trusting names or declared types."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from generation.pipeline import media
from paksatalker_site.errors import BadRequest, MediaError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

logger = logging.getLogger(__name__)

IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif", "GIF": "gif"}
MIN_AUDIO_SECONDS = 0.3
MIN_IMAGE_SIDE = 32


@dataclass(frozen=True)
class CheckedImage:
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class CheckedAudio:
    extension: str
    duration: float


def _check_size(upload: UploadedFile, field: str, limit: int) -> None:
    if upload.size == 0:
        raise BadRequest(f"{field}: the uploaded file is empty.")
    if upload.size > limit:
        raise PayloadTooLarge(f"{field}: the file is {upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")


def image_check(upload: UploadedFile, *, field: str = "image", limit: int | None = None) -> CheckedImage:
    """Read the image header, then prove the file whole with Pillow; reject non-images, tiny
    images and decompression bombs (refused from the header, before any pixel is decoded)."""
    from PIL import Image, UnidentifiedImageError

    _check_size(upload, field, limit or settings.PAKSA_MAX_IMAGE_BYTES)
    upload.seek(0)
    try:
        with Image.open(upload) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > settings.PAKSA_MAX_IMAGE_PIXELS:
                raise PayloadTooLarge(
                    f"{field}: the image is {width}x{height} pixels; the limit is {settings.PAKSA_MAX_IMAGE_PIXELS / 1e6:g} megapixels."
                )
            if fmt not in IMAGE_FORMATS:
                raise UnsupportedMediaType(f"{field}: {fmt or 'this'} images are not supported; send PNG, JPEG, WebP, BMP, TIFF or GIF.")
            if fmt == "PNG":
                img.verify()  # every chunk's CRC up to IEND, no pixels inflated
            else:
                # verify() proves only PNGs whole: other formats are decoded (a JPEG at 1/8 scale,
                # which reads every byte for 1/64 of the work), so a truncated file fails here.
                if fmt == "JPEG":
                    img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                img.load()
    except Image.DecompressionBombError as exc:  # Pillow's own guard, past twice its MAX_IMAGE_PIXELS
        raise PayloadTooLarge(f"{field}: the image has too many pixels.") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaType(f"{field}: the file is not an image (PNG, JPEG, WebP, BMP, TIFF or GIF).") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMediaType(f"{field}: the image is damaged or incomplete ({exc}).") from exc
    finally:
        upload.seek(0)
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ValidationFailed(f"{field}: the image is {width}x{height}; at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels are needed.")
    return CheckedImage(IMAGE_FORMATS[fmt], width, height)


def audio_check(upload: UploadedFile, *, field: str = "audio") -> CheckedAudio:
    """Probe the audio with ffprobe (with a timeout); it must hold a real audio stream."""
    _check_size(upload, field, settings.PAKSA_MAX_AUDIO_BYTES)
    with tempfile.NamedTemporaryFile(suffix=".upload") as tmp:
        upload.seek(0)
        for chunk in upload.chunks():
            tmp.write(chunk)
        tmp.flush()
        upload.seek(0)
        try:
            info = media.probe(Path(tmp.name))
        except MediaError as exc:
            raise UnsupportedMediaType(f"{field}: the file is not audio that can be decoded.") from exc
        if not info.has_audio:
            raise UnsupportedMediaType(f"{field}: the file holds no audio stream.")
        if MIN_AUDIO_SECONDS <= info.duration <= settings.PAKSA_MAX_AUDIO_SECONDS:
            _reject_silence(Path(tmp.name), field)
    if info.duration < MIN_AUDIO_SECONDS:
        raise ValidationFailed(f"{field}: the audio is {info.duration:.2f} s long; at least {MIN_AUDIO_SECONDS} s is needed.")
    if info.duration > settings.PAKSA_MAX_AUDIO_SECONDS:
        raise ValidationFailed(f"{field}: the audio is {info.duration:.0f} s long; the limit is {settings.PAKSA_MAX_AUDIO_SECONDS:.0f} s.")
    return CheckedAudio(_audio_extension(info), info.duration)


def _audio_extension(info: media.MediaInfo) -> str:
    formats = info.format_name.split(",")
    for name, ext in (("wav", "wav"), ("mp3", "mp3"), ("ogg", "ogg"), ("flac", "flac"), ("webm", "webm"), ("matroska", "mka"), ("mov", "m4a"), ("mp4", "m4a"), ("aac", "aac")):
        if name in formats:
            return ext
    return "audio"


SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS


def _reject_silence(path: Path, field: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            wav = media.normalize_audio(path, Path(tmp) / "probe.wav")
        except MediaError as exc:
            raise UnsupportedMediaType(f"{field}: the audio could not be decoded.") from exc
        samples, _ = media.read_wav(wav)
    if samples.size == 0 or float(abs(samples).max()) < SILENCE_PEAK:
        raise ValidationFailed(f"{field}: the audio is silent; there is no speech to animate.")
