"""job_run's translation between settings, the pipeline and the job row."""

from __future__ import annotations

import pytest

from generation.models import GenerationJob
from generation.pipeline import render as pipeline
from generation.pipeline.errors import MediaError
from generation.pipeline.types import Encoding
from generation.services import job_create
from generation.services.running import render_request_build

pytestmark = pytest.mark.django_db(transaction=True)


def test_encoding_comes_from_settings(settings, tmp_path):
    settings.PAKSA_X264_PRESET, settings.PAKSA_X264_CRF = "veryfast", 26
    request = render_request_build(params={"resolution": "480p"}, text="Hi.", work_dir=tmp_path, image_path=None,
                                   audio_path=None, background_path=None)
    assert request.encoding == Encoding(preset="veryfast", crf=26)


def test_a_failed_job_names_no_server_path(settings, monkeypatch):
    work_dir = settings.WORK_DIR

    def fail(request, engines, progress, hooks):
        # ffmpeg's own words about a file in the job's work folder, as a MediaError carries them.
        raise MediaError(f"ffmpeg failed: {request.work_dir}/speech.mp3: Invalid data found; see {settings.BASE_DIR}/docs")

    monkeypatch.setattr(pipeline, "render", fail)
    job = job_create(kind="prompt", params={"resolution": "480p"}, text="Hello.")  # Huey runs it at once in tests
    row = GenerationJob.objects.get(id=job.id)
    assert row.status == "failed" and "speech.mp3: Invalid data found" in row.error
    assert row.error.startswith("ffmpeg failed: PAKSA_WORK_DIR/") and row.error.endswith("; see docs")
    assert str(work_dir) not in row.error and str(settings.BASE_DIR) not in row.error
