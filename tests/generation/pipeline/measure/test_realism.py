import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native.animate import FaceAnimator
from generation.pipeline.measure import realism
from generation.pipeline.types import MouthParams

FPS = 25


def test_nose_offset_ignores_in_plane_tilt_and_slide(astronaut_bgr):
    pts = F.detect_face(astronaut_bgr).landmarks[:, :2].astype(np.float64)
    a = np.deg2rad(8.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = (pts - 200) @ rot.T * 1.3 + 200 + (17.0, -9.0)
    np.testing.assert_allclose(realism.nose_offset(moved), realism.nose_offset(pts), atol=1e-9)
    np.testing.assert_allclose(realism.iris_position(moved), realism.iris_position(pts), atol=1e-9)


def test_gaze_shifts_count_jumps_once_and_see_through_blinks():
    rng = np.random.default_rng(0)
    n = FPS * 12
    gaze = rng.normal(0, 0.006, (n, 2))  # detection noise alone: no shift
    openness = np.full(n, 0.3)
    assert realism.count_gaze_shifts(gaze, openness, FPS) == 0
    for k, start in enumerate(range(40, n - 20, 60)):  # a fixation change every 2.4 s
        gaze[start:, 0] += 0.08 if k % 2 == 0 else -0.08
    assert realism.count_gaze_shifts(gaze, openness, FPS) == len(range(40, n - 20, 60))
    # A shift made while the lids are shut is seen from before to after the blink.
    blinking = openness.copy()
    blinking[38:43] = 0.05
    assert realism.count_gaze_shifts(gaze, blinking, FPS) == len(range(40, n - 20, 60))


def test_a_blink_of_narrowed_eyes_is_not_a_gaze_shift():
    """The detector reads a narrowed eye shut as still ~0.7 open, and its iris follows the closing lid."""
    rng = np.random.default_rng(1)
    n = FPS * 8
    gaze = rng.normal(0, 0.004, (n, 2))
    openness = np.full(n, 0.2)
    for start in (50, 130):
        openness[start:start + 4] = 0.2 * np.array([0.9, 0.7, 0.66, 0.72])
        gaze[start - 1:start + 5, 1] += np.array([0.0, 0.02, 0.06, 0.07, 0.05, 0.01])  # dragged down by the lid
    assert realism.count_gaze_shifts(gaze, openness, FPS) == 0


def test_corner_ratio_reads_the_mouth_interior():
    import cv2

    frame = np.full((100, 160, 3), 150, np.uint8)
    mesh = np.zeros((478, 2))
    xs = np.linspace(30, 130, 11)
    upper = np.stack([xs, 50 - 12 * np.sin(np.linspace(0, np.pi, 11))], 1)
    lower = np.stack([xs, 50 + 18 * np.sin(np.linspace(0, np.pi, 11))], 1)
    inner = F.LIPS_INNER  # corner, upper lip (9), corner, lower lip (9) back
    mesh[inner[:11]] = upper
    mesh[inner[10:] + [inner[0]]] = lower[::-1]
    poly = np.round(np.concatenate([upper, lower[::-1]])).astype(np.int32)
    dark_corners = frame.copy()
    cv2.fillPoly(dark_corners, [poly], (200, 200, 200))
    dark_corners[:, :55] = dark_corners[:, 105:] = 40
    flat = frame.copy()
    cv2.fillPoly(flat, [poly], (200, 200, 200))
    aperture = np.array([0.4])
    assert realism.mouth_corner_ratio([dark_corners], [mesh], aperture) < 0.5
    assert realism.mouth_corner_ratio([flat], [mesh], aperture) == pytest.approx(1.0, abs=0.02)
    assert realism.mouth_corner_ratio([flat], [mesh], np.array([0.02])) is None  # never open: nothing to read


@pytest.fixture(scope="module")
def renders(astronaut_bgr):
    """3 s of the native animator at 480p with speech-like loudness, and the still photo as long."""
    src = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src, (512, 512), "full", "480p")
    base = F.crop_to_geometry(astronaut_bgr, geo)
    n = 3 * FPS
    t = np.arange(n) / FPS
    energy = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, 1) * (0.5 + 0.5 * (np.sin(2 * np.pi * 0.4 * t) > -0.3))
    an = FaceAnimator(base, F.transform_face(src, geo), seed=6, fps=FPS, animate_margin=geo.animate_margin,
                      energy_track=energy, frame_count=n)
    frames = [an.render(MouthParams(jaw_open=float(e), teeth=0.5), i, float(e)) for i, e in enumerate(energy)]
    return frames, [base] * n


@pytest.mark.slow
def test_a_render_turns_nods_and_looks_around_where_the_still_photo_does_not(renders):
    frames, still = renders
    alive = realism.realism_figures(frames, FPS)
    photo = realism.realism_figures(still, FPS)
    assert alive["face_found_share"] >= 0.98
    assert alive["head_turn"] > photo["head_turn"] + 0.01
    assert alive["nod"] > photo["nod"] + 0.005
    assert alive["gaze_shifts"] >= 1 and photo["gaze_shifts"] == 0
    # The painted mouth darkens toward its corners (the photo's mouth is never open enough to read).
    assert alive["corner_ratio"] is not None and alive["corner_ratio"] < 0.8
