from __future__ import annotations

from ninja import Schema


class ErrorOut(Schema):
    success: bool = False
    detail: str


class CapabilitiesData(Schema):
    mediapipe: bool
    threeddfa: bool
    openseeface: bool
    mini_xception: bool
    reasons: dict[str, str]
    details: dict[str, dict]


class CapabilitiesOut(Schema):
    success: bool = True
    data: CapabilitiesData


class ExpressionResult(Schema):
    blendshapes: dict[str, float]
    emotion_probs: dict[str, float]
    head_pose: dict[str, float] | None = None
    neutral: float | None = None  # MediaPipe's 52nd score (_neutral); null from the other engines


class EstimateOut(Schema):
    success: bool = True
    engine: str
    source: str
    emotion_source: str
    engines: dict[str, str]
    result: ExpressionResult
