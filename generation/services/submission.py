"""From a validated form and uploads to a job: every check before anything is stored."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError

from generation.models import GenerationJob, JobKind
from generation.schemas import FusionIn, PromptIn
from generation.services import uploads
from generation.services.jobs import job_create, request_fingerprint
from paksatalker_site.errors import BadRequest, ValidationFailed
from voices.catalog import DEFAULT_VOICE

logger = logging.getLogger(__name__)


def job_submit(
    *,
    form: FusionIn | PromptIn,
    image: UploadedFile | None,
    audio: UploadedFile | None = None,
    background_image: UploadedFile | None = None,
    idempotency_key: str | None = None,
    sent_fields: Iterable[str] = (),
) -> GenerationJob:
    """``sent_fields``: every form and file name the request carried; those the endpoint does
    not take are kept on the job as ``ignored_fields`` (a misspelt field would otherwise
    leave its option at the default without a word)."""
    kind = JobKind.PROMPT if isinstance(form, PromptIn) else JobKind.FUSION
    text, transcript, voice, background = form_validate(
        form, has_image=image is not None, has_audio=audio is not None, has_background_image=background_image is not None
    )
    checked_image = uploads.image_check(image) if image is not None else None
    checked_audio = uploads.audio_check(audio) if audio is not None else None
    checked_bg = uploads.image_check(background_image, field="backgroundImage", limit=settings.PAKSA_MAX_BACKGROUND_BYTES) if background_image is not None else None

    params = render_params(form, voice=voice, background=background, transcript=transcript, default_avatar=image is None)
    fingerprint = ""
    if idempotency_key:
        fingerprint = request_fingerprint({"text": text, **params}, {"image": image, "audio": audio, "background": background_image})
        existing = GenerationJob.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise ValidationFailed("Idempotency-Key was already used with a different request.")
            return existing
    ignored = form_ignored_fields(form, sent_fields)
    if ignored:
        params["ignored_fields"] = ignored  # after the fingerprint: a retry need not repeat a typo
        logger.info("Ignored unknown %s fields: %s", kind, ", ".join(ignored))
    try:
        return job_create(
            kind=kind, params=params, text=text,
            image=image, image_ext=checked_image.extension if checked_image else "png",
            audio=audio, audio_ext=checked_audio.extension if checked_audio else "wav",
            background_image=background_image, background_ext=checked_bg.extension if checked_bg else "png",
            idempotency_key=idempotency_key, fingerprint=fingerprint,
        )
    except IntegrityError:
        # Two identical requests raced: the other one made the job; answer with it.
        existing = GenerationJob.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        if existing.request_fingerprint != fingerprint:
            raise ValidationFailed("Idempotency-Key was already used with a different request.") from None
        return existing


IGNORED_MAX = 20
IGNORED_NAME_CHARS = 64
FORM_FILES = {FusionIn: ("image", "audio", "backgroundImage"), PromptIn: ("image", "backgroundImage")}  # each endpoint's files


def form_ignored_fields(form: FusionIn | PromptIn, sent_fields: Iterable[str]) -> list[str]:
    """The names a request sent that its endpoint does not take (sorted, each once)."""
    known = {*type(form).model_fields, *FORM_FILES[type(form)]}
    # Names are the client's own text: kept short and few on the job and in the answer.
    names = sorted({name[:IGNORED_NAME_CHARS] for name in set(sent_fields) - known})
    return names[:IGNORED_MAX] + ([f"... {len(names) - IGNORED_MAX} more"] if len(names) > IGNORED_MAX else [])


def render_params(form: FusionIn | PromptIn, *, voice: str, background: dict, transcript: str, default_avatar: bool) -> dict:
    """The job's stored parameters; running.render_request_build reads them back."""
    return {
        "voice": voice,
        "resolution": form.resolution,
        "fps": form.fps,
        "emotion": form.emotion,
        "style": form.style,
        "expression_engine": form.expressionEngine,
        "prefer_wav2lip": form.preferWav2Lip2,
        "preprocess": form.preprocess or settings.PAKSA_PREPROCESS,
        "background": background,
        "captions": form.captions or "auto",
        "transcript": transcript,
        "language": form.language or "",
        "default_avatar": default_avatar,
    }


def form_validate(form: FusionIn | PromptIn, *, has_image: bool, has_audio: bool, has_background_image: bool) -> tuple[str, str, str, dict]:
    """Checks on fields that need no file: returns (text, transcript, voice, background params)."""
    is_prompt = isinstance(form, PromptIn)
    text = (form.prompt if is_prompt else form.text or "").strip()
    if is_prompt and not text:
        raise ValidationFailed("prompt: the text to speak is required.")
    if not has_audio and not text:
        raise BadRequest("Send audio, or text to speak (the default avatar is used when there is no image).")
    if not has_image and not text:
        raise BadRequest("image is required when there is no text (only text requests may use the default avatar).")
    _check_text("prompt" if is_prompt else "text", text)
    transcript = (getattr(form, "transcript", None) or "").strip()
    _check_text("transcript", transcript)
    if form.captions == "burn":
        from generation.pipeline.media import ffmpeg_filters

        if "subtitles" not in ffmpeg_filters():
            raise BadRequest("captions=burn needs ffmpeg's subtitles filter, which this server's ffmpeg lacks.")
    voice = form.voice or DEFAULT_VOICE
    from voices.selectors import voice_get

    voice_get(voice_id=voice)  # 422 naming an unknown voice
    return text, transcript, voice, _background_params(form, has_background_image)


def _check_text(field: str, text: str) -> None:
    if len(text) > settings.PAKSA_MAX_TEXT_CHARS:
        raise ValidationFailed(f"{field}: {len(text)} characters; the limit is {settings.PAKSA_MAX_TEXT_CHARS}.")
    if "\x00" in text:
        raise ValidationFailed(f"{field}: contains a NUL character.")
    # Django decodes form fields with errors="replace": invalid UTF-8 arrives as U+FFFD.
    if "\ufffd" in text:
        raise ValidationFailed(f"{field}: is not valid UTF-8 text.")


def _background_params(form, has_background_image: bool) -> dict:
    mode = form.backgroundMode or "none"
    if mode == "none":
        return {"mode": mode}
    if mode == "image" and not has_background_image:
        raise BadRequest("backgroundImage is required when backgroundMode is 'image'.")
    from generation.pipeline.background.compose import validate_options

    # The mode itself was checked by the schema; this checks colours and ranges.
    # The uploaded image is checked by uploads.image_check and bound at render time.
    checked = validate_options(
        "none", color=form.backgroundColor, chroma_color=form.chromaColor, similarity=form.similarity, blend=form.blend
    )
    return {
        "mode": mode,
        "color": list(checked.color),
        "chroma_color": list(checked.chroma_color),
        "similarity": checked.similarity,
        "blend": checked.blend,
    }
