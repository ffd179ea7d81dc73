import numpy as np
import pytest

from generation.pipeline.engines.native import motion


def _energy(n, fps=25):
    t = np.arange(n) / fps
    return np.clip(np.sin(2 * np.pi * 0.4 * t), 0, 1) * (t < n / fps * 0.7)


def test_blinks_every_two_to_six_seconds_and_fully_close():
    fps, n = 25, 25 * 30
    b = motion.blink_curve(n, fps, np.random.default_rng(3))
    closed = np.flatnonzero(b >= 0.999)
    starts = closed[np.insert(np.diff(closed) > 1, 0, True)]
    assert 5 <= len(starts) <= 15
    gaps = np.diff(starts) / fps
    assert gaps.min() >= 1.9 and gaps.max() <= 6.2
    # Each blink (non-zero run) lasts roughly 100-250 ms.
    runs = np.split(np.flatnonzero(b > 0), np.flatnonzero(np.diff(np.flatnonzero(b > 0)) > 1) + 1)
    assert all(3 <= len(r) <= 7 for r in runs)


def test_head_motion_is_zero_mean_bounded_and_reproducible():
    n = 25 * 12
    a = motion.plan_motion(n, 25, _energy(n), seed=7)
    b = motion.plan_motion(n, 25, _energy(n), seed=7)
    c = motion.plan_motion(n, 25, _energy(n), seed=8)
    assert np.array_equal(a.angle, b.angle) and np.array_equal(a.blink, b.blink)
    assert not np.array_equal(a.angle, c.angle)
    assert abs(a.angle.mean()) < 1e-6 and np.abs(a.shift.mean(0)).max() < 1e-6
    assert np.abs(np.rad2deg(a.angle)).max() <= 2.5 and np.abs(a.shift).max() <= 0.06
    assert np.rad2deg(a.angle).std() > 0.1  # it does move


def test_style_scales_head_motion():
    n = 25 * 10
    calm = motion.plan_motion(n, 25, _energy(n), style="calm", seed=1)
    lively = motion.plan_motion(n, 25, _energy(n), style="expressive", seed=1)
    assert lively.angle.std() > calm.angle.std() * 1.5


def test_source_smile_and_emotions():
    assert motion.source_smile(None) == 0.0
    # Without a reading, the mesh's own smile (the lip seam sagging below its corners) counts.
    assert motion.source_smile(None, 0.5 * motion.GEOMETRIC_FULL_SMILE) == pytest.approx(0.5)
    assert motion.source_smile(None, 1.0) == 1.0 and motion.source_smile(None, -0.1) == 0.0
    assert motion.source_smile({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.6}) == 0.7
    plan = motion.plan_motion(50, 25, np.zeros(50), emotion="happy")
    assert plan.pose.smile > 0 and plan.emotion[0] == 0 and plan.emotion[-1] > 0.8


def test_head_matrix_rotates_about_the_pivot():
    m = motion.head_matrix(np.deg2rad(90), (1.0, 0.0), (10.0, 10.0))
    out = motion.apply_matrix(m, np.array([[10.0, 10.0], [20.0, 10.0]]))
    assert np.allclose(out, [[11, 10], [11, 20]])


def test_a_closed_lid_has_a_soft_lash_fringe_thinning_to_the_corners():
    roi = np.full((80, 160, 3), 180, np.uint8)
    t = np.linspace(0, np.pi, 9)
    xs = 30 + 50 * (1 - np.cos(t))
    rest_upper = np.column_stack([xs, 30 - 10 * np.sin(t)])
    closed = np.column_stack([xs, 40 + 2 * np.sin(t)])
    lash = np.array([40, 45, 50], np.uint8)
    motion.paint_lid(roi, (0, 0), rest_upper, closed, np.array([150, 160, 190], np.uint8), lash, 1.0, 300.0, np.array([0.0, -1.0]))
    darkest = roi.astype(int).sum(axis=2).min(axis=0)  # per column
    middle, near_corner = darkest[80], darkest[int(xs[1]) + 1]
    assert middle < near_corner - 60  # the fringe is darkest in the middle
    assert roi.astype(int).sum(axis=2).min() >= int(lash.astype(int).sum()) - 3  # nothing darker than the lashes (no holes)
