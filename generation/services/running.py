"""job_run: a job row -> RenderRequest -> pipeline -> stored MP4 and a finished row."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings

from generation.engines import engines_get, path_labels
from generation.models import GenerationJob
from generation.pipeline import render as pipeline
from generation.pipeline.types import BackgroundOptions, Encoding, RenderRequest, RenderResult
from generation.services.jobs import (
    JobSuperseded,
    job_claim,
    job_complete,
    job_fail,
    job_mark_cancelled,
    job_progress_update,
)
from paksatalker_site.errors import USER_ERRORS, JobCancelled
from voices.catalog import DEFAULT_VOICE

logger = logging.getLogger(__name__)


def job_run(*, job_id: str) -> None:
    """Render one job. Every outcome ends in a finished row; nothing stays 'processing'."""
    token = job_claim(job_id=job_id)
    if token is None:
        logger.info("job %s not claimed (ended, cancelled or held by a live worker)", job_id)
        return
    job = GenerationJob.objects.get(id=job_id)
    work_dir = settings.WORK_DIR / job_id / token
    work_dir.mkdir(parents=True, exist_ok=True)
    progress = _progress_writer(job_id, token)
    try:
        request = _render_request(job, work_dir)
        result = pipeline.render(request, engines_get(), progress, render_hooks())
        captions = {name: path for name, path in (("captions_vtt", result.captions_vtt), ("captions_srt", result.captions_srt)) if path}
        job_complete(job_id=job_id, token=token, output=result.output_path, result_fields=_result_fields(result), extra_files=captions)
    except JobSuperseded as exc:
        logger.warning("job %s: %s", job_id, exc.detail)
    except JobCancelled:
        job_mark_cancelled(job_id=job_id)
        logger.info("job %s stopped: cancelled", job_id)
    except USER_ERRORS as exc:
        job_fail(job_id=job_id, token=token, error=path_labels().scrub(exc.detail))
    except Exception as exc:  # a bug must still end the job with a message
        logger.exception("job %s crashed", job_id)
        job_fail(job_id=job_id, token=token, error=f"Internal error while rendering ({type(exc).__name__}).")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        try:
            work_dir.parent.rmdir()  # the job's folder, once no other run uses it
        except OSError:
            pass


def _progress_writer(job_id: str, token: str):
    """Throttled writes: a new stage at once, otherwise at most every heartbeat interval."""
    state = {"at": 0.0, "stage": None}

    def report(percent: float, stage: str) -> None:
        now = time.monotonic()
        if stage != state["stage"] or now - state["at"] >= min(1.0, settings.PAKSA_HEARTBEAT_SECONDS):
            state["at"], state["stage"] = now, stage
            job_progress_update(job_id=job_id, token=token, progress=percent, stage=stage)

    return report


def _local_copy(field, work_dir: Path, stem: str) -> Path | None:
    """Inputs live in storage (local or S3); the pipeline reads local paths."""
    if not field.name:
        return None
    target = work_dir / f"{stem}{Path(field.name).suffix}"
    with field.storage.open(field.name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return target


def _render_request(job: GenerationJob, work_dir: Path) -> RenderRequest:
    return render_request_build(
        params=job.params, text=job.text, work_dir=work_dir,
        image_path=_local_copy(job.image, work_dir, "source"),
        audio_path=_local_copy(job.audio, work_dir, "speech"),
        background_path=_local_copy(job.background_image, work_dir, "background"),
    )


def render_request_build(*, params: dict, text: str, work_dir: Path, image_path: Path | None,
                         audio_path: Path | None, background_path: Path | None) -> RenderRequest:
    """The pipeline's request from stored job parameters (see submission.render_params)."""
    bg = params.get("background") or {}
    background = BackgroundOptions(
        mode=bg.get("mode", "none"),
        color=tuple(bg.get("color", (0, 0, 0))),
        image_path=background_path,
        chroma_color=tuple(bg.get("chroma_color", (0, 255, 0))),
        similarity=float(bg.get("similarity", 0.1)),
        blend=float(bg.get("blend", 0.05)),
    )
    return RenderRequest(
        output_path=work_dir / "output.mp4",
        work_dir=work_dir,
        image_path=image_path,
        audio_path=audio_path,
        text=text,
        transcript=params.get("transcript", ""),
        language=params.get("language", ""),
        voice=params.get("voice", DEFAULT_VOICE),
        resolution=params.get("resolution", "720p"),
        fps=int(params.get("fps", 25)),
        emotion=params.get("emotion", "neutral"),
        style=params.get("style", "natural"),
        preprocess=params.get("preprocess", settings.PAKSA_PREPROCESS),
        strict_preprocess=settings.PAKSA_STRICT_PREPROCESS,
        prefer_wav2lip=bool(params.get("prefer_wav2lip", False)),
        disabled_engines=settings.PAKSA_DISABLED_ENGINES,
        background=background,
        encoding=_encoding(),
        expression_engine=params.get("expression_engine", "auto"),
        captions=params.get("captions", "auto"),
    )


def _encoding() -> Encoding:
    """The output encoder's settings (PAKSA_X264_PRESET, PAKSA_X264_CRF)."""
    return Encoding(preset=settings.PAKSA_X264_PRESET, crf=settings.PAKSA_X264_CRF)


def _result_fields(result: RenderResult) -> dict:
    # Reasons may quote a tool's or library's own words: no server path may reach the client.
    public = path_labels().scrub
    return {
        "engine": result.engine,
        "fallback_reasons": [{"engine": s.engine, "reason": public(s.reason)} for s in result.fallback_reasons],
        "timings": result.timings,
        "tts_provider": result.tts_provider,
        "audio_duration": round(result.duration, 3),
        "expression": result.expression,
        "notes": [public(note) for note in (*result.notes, result.captions_note) if note],
        "lip_sync": {**result.lip_sync, "notes": [public(note) for note in result.lip_sync.get("notes", [])]},
    }


def render_hooks() -> pipeline.RenderHooks:
    return pipeline.RenderHooks(
        synthesize=_synthesize,
        estimate_expression=_estimate_expression,
        default_avatar=_default_avatar,
        background_stage=_background_stage,
    )


def _synthesize(text: str, voice: str, out_dir: Path) -> pipeline.SpeechResult:
    from voices.services import voice_synthesize

    spoken = voice_synthesize(
        text=text, voice_id=voice, out_dir=out_dir,
        providers=settings.PAKSA_TTS_PROVIDERS, online_timeout_s=settings.PAKSA_TTS_ONLINE_TIMEOUT,
    )
    skipped = [f"TTS {provider}: {why}" for provider, why in spoken.attempts]  # in each provider's own words
    return pipeline.SpeechResult(path=spoken.path, provider=spoken.provider, timing=spoken.timing, language=spoken.language,
                                 notes=skipped)


def _estimate_expression(image, engine: str = "auto") -> dict | None:
    """The source face's expression at rest; a failure here never fails the render."""
    from expressions.services import expression_estimate

    try:
        return expression_estimate(image_bgr=image, engine=engine, emotions=False)
    except USER_ERRORS as exc:
        logger.info("expression estimate skipped: %s", exc.detail)
        return None


def _default_avatar(work_dir: Path) -> Path:
    from generation.pipeline.avatar.portrait import default_avatar_path

    return default_avatar_path(settings.DATA_DIR / "cache")


def _background_stage(options, size, static):
    from generation.pipeline.background.compose import BackgroundStage

    return BackgroundStage(options, size, static_background=static)
