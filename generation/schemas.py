"""In and Out schemas of the generation endpoints (field names follow API.md).

Plain pydantic models, configured as ``ninja.Schema`` configures its own (Ninja
takes any pydantic model): ``manage.py render`` validates its options with
``FusionIn`` and so never imports Ninja (~0.2 s), which it does not otherwise use.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from generation.fields import EXPRESSION_ENGINES, FIELD_HELP
from generation.pipeline.choices import BACKGROUND_MODES, CAPTION_MODES, EMOTIONS, PREPROCESS_MODES, RESOLUTION_HEIGHTS, STYLES
from voices.catalog import DEFAULT_VOICE

Resolution = Literal[tuple(RESOLUTION_HEIGHTS)]
CHOICES = {
    "emotion": EMOTIONS,
    "style": STYLES,
    "preprocess": PREPROCESS_MODES,
    "backgroundMode": BACKGROUND_MODES,
    "expressionEngine": EXPRESSION_ENGINES,
}


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # as ninja.Schema's


def _blank_to_none(value):
    # HTML forms send "" for an untouched field: treat it as absent.
    return None if isinstance(value, str) and value.strip() == "" else value


def _field(default, name: str, **constraints):
    """A field described for the OpenAPI docs (the same words as `render --help`)."""
    return Field(default, description=FIELD_HELP[name], **constraints)


class RenderOptionsIn(Schema):
    resolution: Resolution = _field("720p", "resolution")
    fps: int = _field(25, "fps", ge=15, le=60)
    emotion: str = _field("neutral", "emotion")
    style: str = _field("natural", "style")
    expressionEngine: str = _field("auto", "expressionEngine")
    preferWav2Lip2: bool = _field(False, "preferWav2Lip2")
    preprocess: Optional[str] = _field(None, "preprocess")
    backgroundMode: Optional[str] = _field(None, "backgroundMode")
    backgroundColor: Optional[str] = _field(None, "backgroundColor")
    chromaColor: Optional[str] = _field(None, "chromaColor")
    similarity: Optional[float] = _field(None, "similarity", ge=0.0, le=1.0)
    blend: Optional[float] = _field(None, "blend", ge=0.0, le=1.0)
    captions: Optional[Literal[CAPTION_MODES]] = _field(None, "captions")
    # None: detected from the transcript, else English.
    language: Optional[str] = _field(None, "language", max_length=64)

    @field_validator("*", mode="before")
    @classmethod
    def _blank(cls, value):
        return _blank_to_none(value)

    @field_validator("resolution", "fps", "emotion", "style", "expressionEngine", "preferWav2Lip2", mode="before")
    @classmethod
    def _defaults_for_blank(cls, value, info):
        if value is None:
            return cls.model_fields[info.field_name].default
        return value

    @field_validator("emotion", "style", "preprocess", "backgroundMode", "expressionEngine")
    @classmethod
    def _one_of(cls, value: Optional[str], info):
        if value is None:
            return value
        allowed = CHOICES[info.field_name]
        if info.field_name in ("emotion", "style"):
            value = value.lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value


    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        import langcodes

        tag = value.strip()
        if not langcodes.tag_is_valid(tag):
            raise ValueError(f"{tag!r} is not a BCP-47 language tag (e.g. es, de, pt-BR, zh-Hant-TW)")
        return langcodes.standardize_tag(tag)  # "pt_br" -> "pt-BR", "iw" -> "he"


class FusionIn(RenderOptionsIn):
    text: Optional[str] = _field(None, "text")
    transcript: Optional[str] = _field(None, "transcript")
    voice: Optional[str] = _field(None, "voice")


class PromptIn(RenderOptionsIn):
    prompt: str = _field(..., "prompt")
    voice: Optional[str] = _field(DEFAULT_VOICE, "voice")


class TaskAcceptedOut(Schema):
    success: bool = True
    task_id: str
    status: str = "processing"
    ignored_fields: list[str] = Field([], description="form fields and files the endpoint does not take (a misspelt name)")


class ErrorOut(Schema):
    success: bool = False
    detail: str


class SkippedEngineOut(Schema):
    engine: str
    reason: str


class StatusDataOut(Schema):
    task_id: str
    kind: str
    status: str
    progress: int
    stage: str
    video_url: Optional[str] = None
    error: str = ""
    engine: str = ""
    fallback_reasons: list[SkippedEngineOut] = []
    tts_provider: str = ""
    queue_position: Optional[int] = None
    eta_seconds: Optional[float] = None
    timings: dict = {}
    duration: Optional[float] = None
    attempts: int = 0
    captions: dict = {}
    notes: list[str] = []
    # How the mouth was timed: {method, language, language_source, notes} (see pipeline/render.py).
    lip_sync: dict = {}
    created_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None


class StatusOut(Schema):
    success: bool = True
    data: StatusDataOut


class CapabilitiesOut(Schema):
    success: bool = True
    data: dict
