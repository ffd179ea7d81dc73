"""Synchronous rendering without a job row or a worker: the `render` command."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from generation.engines import engines_get
from generation.pipeline import render as pipeline
from generation.pipeline.types import RenderResult
from generation.schemas import FusionIn
from generation.services.running import render_hooks, render_request_build
from generation.services.submission import form_validate, render_params

logger = logging.getLogger(__name__)


def render_direct(*, form: FusionIn, files: dict[str, Path], out: Path, progress=None, speech_executor=None) -> RenderResult:
    """Validate like the API does, render, and move the MP4 to ``out``.

    ``speech_executor``: see ``RenderHooks.speech_executor``.
    """
    text, transcript, voice, background = form_validate(
        form, has_image="image" in files, has_audio="audio" in files, has_background_image="backgroundImage" in files
    )
    params = render_params(form, voice=voice, background=background, transcript=transcript, default_avatar="image" not in files)
    settings.WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.WORK_DIR, prefix="render-") as tmp:
        request = render_request_build(
            params=params, text=text, work_dir=Path(tmp), image_path=files.get("image"),
            audio_path=files.get("audio"), background_path=files.get("backgroundImage"),
        )
        hooks = dataclasses.replace(render_hooks(), speech_executor=speech_executor)
        result = pipeline.render(request, engines_get(), progress or (lambda percent, stage: None), hooks)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.part")
        shutil.copyfile(result.output_path, partial)
        partial.replace(out)
        result.output_path = out
    return result
