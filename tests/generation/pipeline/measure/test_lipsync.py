from __future__ import annotations

import json
import math

import numpy as np
import pytest

from generation.pipeline import media
from generation.pipeline.face import detect_face
from generation.pipeline.measure.lipsync import (
    count_blinks,
    eye_openness,
    frame_rms,
    lagged_correlation,
    lipsync_report,
    mouth_aperture,
)
from tests.media_factory import SENTENCES


@pytest.fixture(scope="module")
def still_mp4(astronaut_path, speech_wav, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "still.mp4"
    duration = media.probe(speech_wav).duration
    return media.still_video(astronaut_path, speech_wav, out, fps=25, size=(320, 320), duration=duration)


def test_aperture_and_eyes_of_a_real_face(astronaut_bgr):
    face = detect_face(astronaut_bgr)
    aperture = mouth_aperture(face.points)
    right, left = eye_openness(face.points)
    assert math.isfinite(aperture) and 0.0 <= aperture < 1.0
    assert 0.1 < right < 0.6 and 0.1 < left < 0.6


@pytest.mark.slow
def test_report_on_a_still_video(still_mp4, tmp_path):
    report = lipsync_report(still_mp4, SENTENCES, work_dir=tmp_path)
    json.dumps(report)  # JSON-able
    assert report["frames"] == pytest.approx(170, abs=2)
    assert report["face_found_share"] == 1.0
    assert math.isfinite(report["aperture"]["mean"]) and report["aperture"]["std"] < 0.01
    # A mouth that never moves does not follow the sound.
    assert abs(report["audio"]["correlation_lag0"]) < 0.3
    assert abs(report["audio"]["best_lag_frames"]) <= 5
    assert report["blinks"]["count"] == 0 and report["blinks"]["per_minute"] == 0.0
    assert report["head_motion"]["nose_std_iod"] < 0.02 and report["head_motion"]["roll_std_deg"] < 0.5
    assert report["phones"]["method"] == "align"
    by_class = report["aperture_by_class"]
    assert by_class["open_vowel"]["frames"] > 5 and by_class["bilabial"]["frames"] > 3 and by_class["silence"]["frames"] > 10
    assert report["open_to_bilabial_ratio"] == pytest.approx(1.0, abs=0.1)


def test_lagged_correlation_finds_the_delay():
    rng = np.random.default_rng(3)
    sound = np.convolve(rng.random(200), np.ones(4) / 4, mode="same")
    mouth = np.roll(sound, 2)  # mouth opens 2 frames after the sound
    mouth[:2] = sound[0]
    lag0, best, lag = lagged_correlation(mouth, sound)
    assert lag == 2 and best > 0.95 and lag0 < best
    assert lagged_correlation(np.full(50, 0.2), sound[:50])[0] == 0.0
    nan_gaps = mouth.copy()
    nan_gaps[10:20] = np.nan  # frames without a face are skipped
    assert lagged_correlation(nan_gaps, sound)[2] == 2


def test_blinks_and_frame_rms():
    openness = np.full(100, 0.35)
    openness[20:23] = 0.05
    openness[60:62] = 0.1
    openness[80] = np.nan
    assert count_blinks(openness) == 2
    assert count_blinks(np.full(10, 0.3)) == 0
    sr = 16000
    samples = np.zeros(sr, np.float32)
    samples[sr // 2 :] = 0.5 * np.sin(np.arange(sr // 2) * 0.3)
    rms = frame_rms(samples, sr, 25.0, 25)
    assert rms[:12].max() == 0.0 and rms[13:].min() > 0.9
