"""The orchestrator: RenderRequest -> RenderResult, as a list of steps.

Django-free. The service passes the engines (built from settings) and hooks
for speech synthesis and expression estimation, and writes each
``progress(percent, stage)`` to the job row; that callback may raise
JobCancelled, which ends the render wherever it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from generation.pipeline import face as face_stage
from generation.pipeline import media
from generation.pipeline.engines.base import Engine
from generation.pipeline.engines.chain import engine_order
from generation.pipeline.errors import EngineFailed, InvalidInput, JobCancelled, MediaError, NoFaceError
from generation.pipeline.speech.units import SpeechTiming
from generation.pipeline.types import (
    EngineInput,
    FrameStream,
    PhoneTimeline,
    ProgressFn,
    RenderRequest,
    RenderResult,
    SkippedEngine,
)

logger = logging.getLogger(__name__)

# Share of the job's progress each step may use (start, end), in percent.
SPAN_TTS, SPAN_AUDIO, SPAN_PHONES, SPAN_FACE = (0, 8), (8, 10), (10, 18), (18, 24)
SPAN_ENGINE_PREPARE, SPAN_FRAMES = (24, 45), (45, 99)


@dataclass
class SpeechResult:
    path: Path
    provider: str  # "" when the user sent the audio
    # What the TTS said when (libespeak-ng phoneme events, edge-tts word boundaries); None
    # when it does not say (gTTS) and the words are aligned to the audio instead.
    timing: Optional[SpeechTiming] = None
    language: str = ""  # BCP-47 language the text was spoken in: the voice's
    notes: list[str] = field(default_factory=list)  # e.g. which TTS providers were skipped and why


@dataclass
class RenderHooks:
    """Django-side services the pipeline calls without importing them."""

    synthesize: Optional[Callable[[str, str, Path], SpeechResult]] = None
    estimate_expression: Optional[Callable[[np.ndarray, str], Optional[dict]]] = None
    default_avatar: Optional[Callable[[Path], Path]] = None
    background_stage: Optional[Callable] = None  # (options, size, static) -> stage with apply()/close()
    # Runs the phone timeline in another process while the face is analysed and the engine
    # loads (PocketSphinx holds the GIL, so a thread would not overlap). A cold one-shot
    # process gains ~0.5 s; a warm worker has nothing left to overlap and passes None.
    speech_executor: Optional[Executor] = None


def render(request: RenderRequest, engines: dict[str, Engine], progress: ProgressFn, hooks: RenderHooks) -> RenderResult:
    request.work_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    result_notes: list[str] = []

    # MediaPipe (for step 4) imports on a thread while steps 1-2 wait on the TTS and ffmpeg.
    face_stage.preload()
    # 1. Speech synthesis, when the user sent text and no audio.
    with _timed(timings, "tts"):
        spoken = _speech_source(request, hooks, _span(progress, SPAN_TTS))
    # 2. Audio normalised once: 16 kHz mono WAV.
    with _timed(timings, "audio"):
        progress(SPAN_AUDIO[0], "Normalising audio")
        from generation.pipeline.speech import timeline as speech

        audio = speech.load_audio(spoken.path, request.work_dir)
        if audio.duration < 0.2:
            raise InvalidInput(f"The audio is {audio.duration:.2f} s long; at least 0.2 s of speech is needed.")
    # The output's AAC track encodes on the other core while the speech and face are analysed.
    with media.AudioEncode(audio.path, request.work_dir / "audio.m4a", encoding=request.encoding) as audio_track:
        # 3. Timed phones: the TTS's own timings, else the known words aligned in their
        # language, else phones decoded from the audio (allphone), else energy.
        progress(SPAN_PHONES[0], "Aligning speech")
        known_text = request.text or request.transcript
        # Recognising words costs ~0.6x real time: only when captions were asked for explicitly.
        transcribe = not known_text and request.captions in ("file", "burn")
        language, language_source = _speech_language(request, spoken, known_text)
        phones_job = _phones_start(hooks.speech_executor, timings, audio, known_text, language=language or None,
                                   transcribe_words=transcribe, timing=spoken.timing)
        # 4. Face analysis of the source image, once (plus its expression at rest).
        with _timed(timings, "face"):
            progress(SPAN_FACE[0], "Analysing face")
            image_path = request.image_path or _default_avatar(request, hooks)
            image = _read_image(image_path)
            face = face_stage.detect_face(image)
            expression = None
            if face is not None and hooks.estimate_expression is not None and request.expression_engine != "none":
                expression = hooks.estimate_expression(image, request.expression_engine)
                if expression:
                    request.expression = expression.get("result", {}).get("blendshapes")
            geometry = face_stage.output_geometry(face, (image.shape[1], image.shape[0]), request.preprocess, request.resolution)
        chain, skipped = engine_order(engines, prefer_wav2lip=request.prefer_wav2lip, disabled=request.disabled_engines)
        with _timed(timings, "prepare"):
            _prepare_first(chain)
        timeline = phones_job()
        lip_sync = {"method": timeline.method, "language": language, "language_source": language_source,
                    "notes": list(timeline.notes)}
        frame_count = max(1, int(round(audio.duration * request.fps)))
        inp = EngineInput(request=request, image=image, audio=audio, timeline=timeline, face=face, geometry=geometry,
                          frame_count=frame_count)

        # 5-7. The engine chain, background and encoding: the first engine that
        # produces a complete video wins; every skip or failure is recorded.
        with _timed(timings, "render"):
            engine_name = _run_chain(chain, skipped, inp, audio_track, progress, hooks, result_notes)
    # 8. Captions from the word timings (when the words are known), burned in on request.
    with _timed(timings, "captions"):
        vtt, srt, captions_note = _captions(request, timeline, known_text, progress)

    return RenderResult(
        output_path=request.output_path, engine=engine_name, duration=audio.duration, frame_count=frame_count,
        width=geometry.size[0], height=geometry.size[1], fps=request.fps, fallback_reasons=skipped,
        timings=timings, tts_provider=spoken.provider, timeline=timeline, expression=expression,
        captions_vtt=vtt, captions_srt=srt, captions_note=captions_note, lip_sync=lip_sync,
        notes=[*spoken.notes, *result_notes],
    )


def _phones_start(executor: Optional[Executor], timings: dict[str, float], audio, text: str,
                  **options) -> Callable[[], PhoneTimeline]:
    """The phone timeline: started on ``executor`` when there is one, else computed now.

    ``timings["phones"]`` is the wall time until the result; on an executor that
    span overlaps the face and prepare steps.
    """
    from generation.pipeline.speech import timeline as speech

    started = time.perf_counter()
    if executor is not None:
        try:
            future = executor.submit(speech.phone_timeline, audio, text, **options)
        except (BrokenExecutor, RuntimeError) as exc:  # broken by an earlier job, or shut down
            logger.warning("speech process unavailable (%s); aligning in this process", exc)
        else:
            def result() -> PhoneTimeline:
                try:
                    timeline = future.result()
                except BrokenExecutor as exc:  # the process died (e.g. out of memory): the work is not lost
                    logger.warning("speech process failed (%s); aligning in this process", exc)
                    timeline = speech.phone_timeline(audio, text, **options)
                timings["phones"] = round(time.perf_counter() - started, 3)
                return timeline

            return result
    timeline = speech.phone_timeline(audio, text, **options)
    timings["phones"] = round(time.perf_counter() - started, 3)
    return lambda: timeline


def _prepare_first(chain: list[Engine]) -> None:
    """Let the engine most likely to run load its modules while the phones are still being found."""
    for engine in chain:
        if engine.availability().available:
            try:
                engine.prepare()
            except Exception:  # noqa: BLE001 - only a head start: render() reports the real failure
                logger.debug("engine %s could not prepare ahead", engine.name, exc_info=True)
            return


def _run_chain(chain: list[Engine], skipped: list[SkippedEngine], inp: EngineInput, audio_track: media.AudioEncode,
               progress: ProgressFn, hooks: RenderHooks, notes: list[str]) -> str:
    for engine in chain:
        availability = engine.availability()
        if not availability.available:
            skipped.append(SkippedEngine(engine.name, availability.reason or "not available"))
            continue
        reason = engine.unsuitable_reason(inp)
        if reason:
            skipped.append(SkippedEngine(engine.name, reason))
            continue
        try:
            progress(SPAN_ENGINE_PREPARE[0], f"Rendering ({engine.name})")
            prepare = _Closable(_span(progress, SPAN_ENGINE_PREPARE))
            stream = engine.render(inp, prepare)
            # Lazy engines may still report while frames flow; the frame loop owns progress then.
            prepare.close()
            _encode(stream, inp, audio_track, engine.name, progress, hooks)
            notes.extend(stream.notes)
            return engine.name
        except JobCancelled:
            raise
        except (EngineFailed, NoFaceError, MediaError) as exc:
            logger.warning("engine %s failed, falling back: %s", engine.name, exc.detail)
            skipped.append(SkippedEngine(engine.name, f"failed: {exc.detail}"))
        except Exception as exc:  # an engine bug must not lose the job
            logger.exception("engine %s crashed, falling back", engine.name)
            skipped.append(SkippedEngine(engine.name, f"crashed: {type(exc).__name__}: {exc}"))
    raise EngineFailed("Every engine failed: " + "; ".join(f"{s.engine}: {s.reason}" for s in skipped))


def _encode(stream: FrameStream, inp: EngineInput, audio_track: media.AudioEncode, engine_name: str, progress: ProgressFn,
            hooks: RenderHooks) -> None:
    request = inp.request
    audio_path = audio_track.path()
    size = inp.geometry.size
    background = None
    if request.background.mode != "none" and hooks.background_stage is not None:
        background = hooks.background_stage(request.background, size, stream.static or engine_name == "native")
    try:
        if stream.static:
            frame = next(iter(stream.frames))
            if background is not None:
                frame = background.apply(frame)
            still_png = request.work_dir / "still.png"
            import cv2

            cv2.imwrite(str(still_png), frame)
            progress(SPAN_FRAMES[0], "Encoding video")
            media.still_video(still_png, audio_path, request.output_path, fps=request.fps, size=size,
                              duration=inp.audio.duration, encoding=request.encoding, audio_encoded=True)
            return
        frames_progress = _span(progress, SPAN_FRAMES)
        every = max(1, request.fps // 4)
        with media.FrameEncoder(request.output_path, size=size, fps=request.fps, audio_path=audio_path, audio_encoded=True,
                                duration=inp.audio.duration, encoding=request.encoding) as encoder:
            for index, frame in enumerate(stream.frames):
                if index >= inp.frame_count:
                    break
                if background is not None:
                    frame = background.apply(frame, stream.changed_box)
                encoder.write(frame)
                if index % every == 0:
                    frames_progress(100.0 * index / inp.frame_count, f"Rendering frames ({engine_name}) {index}/{inp.frame_count}")
            if encoder.frames_written < inp.frame_count:
                raise EngineFailed(f"{engine_name} produced {encoder.frames_written} of {inp.frame_count} frames")
    finally:
        if background is not None:
            background.close()


MIN_TRANSCRIPT_CONFIDENCE = 0.6


def _captions(request: RenderRequest, timeline: PhoneTimeline, known_text: str, progress: ProgressFn):
    """(vtt, srt, note): caption files when the words are known or confidently recognised."""
    from generation.pipeline import captions

    if request.captions == "none":
        return None, None, "captions were not requested"
    if not known_text:
        confidence = timeline.transcript_confidence
        if confidence is None:
            return None, None, "no captions: the words are unknown (send text or a transcript, or captions=file to transcribe)"
        if confidence < MIN_TRANSCRIPT_CONFIDENCE:
            return None, None, f"no captions: speech recognition was not confident enough ({confidence:.2f})"
    cues = captions.captions_from_timeline(timeline, known_text)
    note = f"{len(cues)} caption cues"
    if not cues and known_text:
        cues = captions.captions_from_text_estimate(timeline, known_text)
        note = f"{len(cues)} caption cues; timing estimated from the speech envelope (the words could not be aligned)"
    if not cues:
        return None, None, "no captions: no words were aligned"
    vtt = captions.write_vtt(cues, request.work_dir / "captions.vtt")
    srt = captions.write_srt(cues, request.work_dir / "captions.srt")
    if request.captions == "burn":
        progress(SPAN_FRAMES[1], "Burning in captions")
        # A font with a glyph for every letter of the cues (Noto for Devanagari, Cyrillic...).
        font = captions.caption_font(" ".join(cue.text for cue in cues))
        burned = request.work_dir / "burned.mp4"
        media.burn_subtitles(request.output_path, srt, burned, encoding=request.encoding,
                             font_name=font.family if font else None, fonts_dir=font.directory if font else None)
        burned.replace(request.output_path)
        note += f" (burned in, font {font.family})" if font else " (burned in; no installed font covers every letter)"
    return vtt, srt, note


def _speech_source(request: RenderRequest, hooks: RenderHooks, progress: ProgressFn) -> SpeechResult:
    if request.audio_path is not None:
        return SpeechResult(path=request.audio_path, provider="")
    if not request.text.strip():
        raise InvalidInput("Either audio or text is required.")
    if hooks.synthesize is None:
        raise InvalidInput("Text was given but no speech synthesiser is configured.")
    progress(0, "Synthesising speech")
    return hooks.synthesize(request.text, request.voice, request.work_dir)


def _speech_language(request: RenderRequest, spoken: SpeechResult, known_text: str) -> tuple[str, str]:
    """(BCP-47 language of the speech, how it was chosen): "voice", "given", "detected", "fallback" or "none".

    Text spoken by TTS is in the voice's language; uploaded audio in the one the user
    gave, else the transcript's (by its script and words), else English. Audio alone
    needs none: its phones are decoded from the sound.
    """
    if spoken.provider and spoken.language:
        return spoken.language, "voice"
    if request.language:
        return request.language, "given"
    if not known_text.strip():
        return "", "none"
    from generation.pipeline.speech.language import detect_language

    guess = detect_language(known_text)
    return guess.language, "fallback" if guess.how == "fallback" else "detected"


def _default_avatar(request: RenderRequest, hooks: RenderHooks) -> Path:
    if hooks.default_avatar is None:
        raise InvalidInput("An image is required.")
    return hooks.default_avatar(request.work_dir)


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"The image {path.name} could not be decoded.")
    return image


def _span(progress: ProgressFn, span: tuple[float, float], prefix: str = "") -> ProgressFn:
    """A progress callback that maps a step's local 0-100 into its share of the job."""
    start, end = span

    def report(local: float, stage: str) -> None:
        progress(start + (end - start) * max(0.0, min(100.0, local)) / 100.0, prefix + stage)

    return report


class _Closable:
    """A progress callback that goes quiet once closed."""

    def __init__(self, progress: ProgressFn):
        self._progress = progress
        self._open = True

    def __call__(self, percent: float, stage: str) -> None:
        if self._open:
            self._progress(percent, stage)

    def close(self) -> None:
        self._open = False


@contextmanager
def _timed(timings: dict[str, float], name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - started, 3)
