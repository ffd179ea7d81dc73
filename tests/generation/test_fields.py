"""The generation fields' descriptions: the OpenAPI docs and `render --help` say the same, and what they say is true."""

from __future__ import annotations

import re

import pytest

from generation.fields import FIELD_HELP
from generation.pipeline.types import BackgroundOptions
from generation.schemas import FusionIn, PromptIn
from voices.catalog import DEFAULT_VOICE

FORM_PATHS = {"/api/v1/generate/fusion-video": FusionIn, "/api/v1/generate/video-from-prompt": PromptIn}
FILES = {"/api/v1/generate/fusion-video": {"image", "audio", "backgroundImage"},
         "/api/v1/generate/video-from-prompt": {"image", "backgroundImage"}}


@pytest.mark.django_db
@pytest.mark.parametrize("path", FORM_PATHS)
def test_every_form_field_is_described_in_the_openapi_docs(client, path):
    schema = client.get("/api/v1/openapi.json").json()
    body = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    properties = body["properties"]
    assert set(properties) == set(FORM_PATHS[path].model_fields) | FILES[path]
    for name, prop in properties.items():
        assert prop.get("description") == FIELD_HELP[name], name


def _stated_default(name: str) -> str | None:
    match = re.search(r"\(default ([^):]+)[):]", FIELD_HELP[name])
    return match.group(1) if match else None


@pytest.mark.parametrize("name", ["resolution", "fps", "emotion", "style", "expressionEngine"])
def test_the_stated_defaults_are_the_schemas(name):
    assert _stated_default(name) == str(FusionIn.model_fields[name].default)


def test_the_stated_background_and_voice_defaults_are_the_renders():
    background = BackgroundOptions()
    assert float(_stated_default("similarity")) == background.similarity
    assert float(_stated_default("blend")) == background.blend
    from generation.pipeline.background.colors import parse_color

    assert parse_color(_stated_default("backgroundColor")) == background.color
    assert parse_color(_stated_default("chromaColor")) == background.chroma_color
    assert _stated_default("voice") == DEFAULT_VOICE == PromptIn.model_fields["voice"].default


@pytest.mark.parametrize("name,valid", [("emotion", "surprised"), ("style", "expressive"), ("backgroundMode", "chroma"),
                                        ("expressionEngine", "mini_xception"), ("preprocess", "extfull"), ("captions", "burn")])
def test_the_listed_choices_are_the_accepted_ones(name, valid):
    listed = re.search(r"one of ([a-z0-9_]+(?:, [a-z0-9_]+)*)", FIELD_HELP[name]).group(1).split(", ")
    assert valid in listed
    for value in listed:
        assert getattr(FusionIn(**{name: value}), name) == value
    with pytest.raises(ValueError):
        FusionIn(**{name: "not-a-choice"})
