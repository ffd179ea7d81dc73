"""Render-stage speed of the living face (issue 17): a benchmark, run by `make bench` only."""

import tempfile
from pathlib import Path

import pytest

from generation.bench.media import astronaut_png, speech_wav
from generation.bench.realism import render_clip


@pytest.mark.bench
@pytest.mark.parametrize(("resolution", "target"), [("480p", 8.0), ("720p", 4.0)])
def test_render_stage_stays_several_times_real_time(resolution, target):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = astronaut_png(work / "astronaut.png")
        audio, text = speech_wav(work / "speech.wav", 10.0)
        render_clip(image, audio, text, work, resolution="480p", name="warm")  # imports and kernels load outside the measure
        speeds = [render_clip(image, audio, text, work, resolution=resolution, emotion="happy", name=f"run{i}")[1] for i in range(2)]
    assert max(speeds) >= target, speeds
