import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import eyes, motion
from generation.pipeline.engines.native.rig import EYES, Life, build_rig, displace_points
from generation.pipeline.measure import realism
from generation.pipeline.types import MouthParams

FPS = 25


def _saccades(gaze):
    """Frames where the gaze jumps (a saccade spans at most two frames at 25 fps)."""
    step = np.linalg.norm(np.diff(gaze, axis=0), axis=1)
    moving = np.flatnonzero(step > 0.02) + 1
    return moving[np.insert(np.diff(moving) > 2, 0, True)] if len(moving) else moving


def test_saccades_come_every_one_to_four_seconds_often_with_a_blink():
    n = FPS * 60
    blink = motion.blink_curve(n, FPS, np.random.default_rng(2))
    gaze = eyes.plan_gaze(n, FPS, blink, np.random.default_rng(5))
    starts = _saccades(gaze)
    assert 12 <= len(starts) <= 60
    gaps = np.diff(starts) / FPS
    assert gaps.min() >= 0.9 and np.median(gaps) <= 4.0
    # Jumps are real moves, within the eye, and fixational drift stays tiny.
    assert np.abs(gaze).max() < 0.2
    # Blinks often come with a gaze shift (made while the lids are shut).
    peaks = [i for i in range(1, n) if blink[i] >= 0.99 and blink[i - 1] < 0.99]
    with_shift = sum(np.any(np.abs(starts - p) <= 2) for p in peaks)
    assert len(peaks) >= 8 and with_shift >= 0.35 * len(peaks)
    still = np.ones(n, bool)
    for s in starts:
        still[max(0, s - 2): s + 3] = False
    assert np.abs(np.diff(gaze, axis=0))[still[1:]].max() < 0.01


def test_gaze_plan_is_reproducible():
    blink = np.zeros(200)
    a = eyes.plan_gaze(200, FPS, blink, np.random.default_rng(1))
    b = eyes.plan_gaze(200, FPS, blink, np.random.default_rng(1))
    assert np.array_equal(a, b)


@pytest.fixture(scope="module")
def astro(astronaut_bgr):
    src = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src, (512, 512), "full", "480p")
    return F.crop_to_geometry(astronaut_bgr, geo), F.transform_face(src, geo)


def test_the_iris_moves_within_the_eye_and_nothing_else_changes(astro):
    base, face = astro
    painter = eyes.EyePainter(base, face.points)
    assert set(painter.eyes) == {"right", "left"}
    frames = {}
    for name, gaze in (("left", (-0.14, 0.0)), ("right", (0.14, 0.0))):
        frame = base.copy()
        for eye in painter.eyes:
            ids = eyes.contour_ids(eye)
            painter.paint(frame, (0, 0), eye, face.points[ids], face.points[ids], np.array(gaze))
        frames[name] = frame
    # Measured like the realism report: the iris re-detected within the eye opening.
    looked = {k: realism.iris_position(realism.detect_meshes([f])[0])[0] for k, f in frames.items()}
    assert looked["right"] - looked["left"] > 0.06, looked
    changed = np.abs(frames["right"].astype(int) - base).sum(2) > 6
    ys, xs = np.nonzero(changed)
    eye_pts = face.points[[i for c, up, lo in EYES.values() for i in list(c) + up + lo]]
    assert changed.sum() > 20
    assert xs.min() >= eye_pts[:, 0].min() - 3 and xs.max() <= eye_pts[:, 0].max() + 3
    assert ys.min() >= eye_pts[:, 1].min() - 3 and ys.max() <= eye_pts[:, 1].max() + 3


def test_the_lids_follow_the_gaze_up_and_down(astro):
    _, face = astro
    rig = build_rig(face.landmarks)
    up = displace_points(rig, MouthParams(), Life(gaze=(0.0, -0.1)))
    down = displace_points(rig, MouthParams(), Life(gaze=(0.0, 0.1)))
    upper_lid = EYES["right"][1]
    assert (down[upper_lid, 1] - up[upper_lid, 1]).mean() > 0.05 * rig.eye_width
