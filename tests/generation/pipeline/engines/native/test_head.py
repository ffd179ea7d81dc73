import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import head
from generation.pipeline.engines.native.rig import build_rig

FPS = 25


@pytest.fixture(scope="module")
def rig(astronaut_bgr):
    return build_rig(F.detect_face(astronaut_bgr).landmarks)


def test_a_turn_moves_the_nose_across_the_face_and_leaves_its_edges(rig):
    iod = rig.iod
    d = rig.head.displacement(np.deg2rad(5.0), 0.0)
    nose = d[F.NOSE_TIP, 0]
    eyes = d[list(F.RIGHT_EYE_CORNERS) + list(F.LEFT_EYE_CORNERS), 0].mean()
    sides = np.abs(d[head.OVAL_SIDES, 0]).mean()
    assert nose > 0.08 * iod  # the nose swings toward image right
    assert nose - eyes > 0.03 * iod  # ... more than the eyes: the turn shows against the eye line
    assert sides < 0.3 * nose  # the silhouette by the ears barely moves
    assert np.abs(d[:, 1]).max() < 0.02 * iod  # a pure turn does not nod


def test_a_nod_moves_the_face_down_and_the_nose_most(rig):
    iod = rig.iod
    d = rig.head.displacement(0.0, np.deg2rad(4.0))
    eyes = d[list(F.RIGHT_EYE_CORNERS), 1].mean()
    assert d[F.NOSE_TIP, 1] > 0.05 * iod
    assert d[F.NOSE_TIP, 1] - eyes > 0.02 * iod
    assert np.abs(d[:, 0]).max() < 0.02 * iod


def _speech(seconds_on=(2.0, 1.6, 2.4), pause=0.45, long_pause=2.0):
    """Phrases of 4 Hz syllables, a short pause between the first two and a long one before the last."""
    parts, pauses = [], [pause, long_pause, 0.0]
    for dur, gap in zip(seconds_on, pauses):
        t = np.arange(int(dur * FPS)) / FPS
        parts.append(0.35 + 0.55 * np.clip(np.sin(2 * np.pi * 4 * t), 0, 1) ** 2)
        parts.append(np.zeros(int(gap * FPS)))
    return np.concatenate(parts)


def test_plan_nods_on_stressed_syllables_and_holds_still_in_long_pauses():
    energy = _speech()
    yaw, pitch = head.plan_head(len(energy), FPS, energy, np.random.default_rng(4))
    talking, boundaries, peaks = head.speech_structure(energy, FPS)
    assert len(peaks) >= 8 and len(boundaries) >= 3
    # Nods: the head dips (pitch rises) around the stressed syllables.
    near = np.zeros(len(energy), bool)
    for i, _ in peaks:
        near[max(0, i - 3): i + 2] = True
    assert pitch[near].mean() > pitch[~near].mean() + np.deg2rad(0.5)
    # Stillness: in the middle of the 2 s pause the head hardly moves; while talking it does.
    pause = slice(int((2.0 + 0.45 + 1.6 + 0.5) * FPS), int((2.0 + 0.45 + 1.6 + 1.5) * FPS))
    speed = np.abs(np.diff(yaw)) + np.abs(np.diff(pitch))
    assert speed[pause].mean() < 0.15 * speed[: int(2.0 * FPS)].mean()
    # Bounded, zero-mean (no drift), a few degrees.
    assert abs(yaw.mean()) < 1e-9 and abs(pitch.mean()) < 1e-9
    assert np.rad2deg(np.abs(yaw)).max() <= head.MAX_YAW_DEG and np.rad2deg(yaw).std() > 0.8


def test_plan_is_reproducible_and_scaled_by_style():
    energy = _speech()
    a = head.plan_head(len(energy), FPS, energy, np.random.default_rng(1), 1.0)
    b = head.plan_head(len(energy), FPS, energy, np.random.default_rng(1), 1.0)
    calm = head.plan_head(len(energy), FPS, energy, np.random.default_rng(1), 0.55)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert calm[0].std() < 0.7 * a[0].std()


def test_silence_keeps_the_head_still():
    yaw, pitch = head.plan_head(100, FPS, np.zeros(100), np.random.default_rng(0))
    assert np.abs(yaw).max() < 1e-9 and np.abs(pitch).max() < 1e-9
