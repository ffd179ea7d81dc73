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



def test_a_raised_lid_takes_the_lash_line_up(astronaut_bgr):
    src = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src, (512, 512), "full", "720p")  # an eye big enough to find its lash line
    base, face = F.crop_to_geometry(astronaut_bgr, geo), F.transform_face(src, geo)
    painter = eyes.EyePainter(base, face.points)
    ids = eyes.contour_ids("right")
    rest = face.points[ids].astype(np.float64)
    eye = painter.eyes["right"]
    raise_px = 0.6 * float(np.max((rest[9:][::-1] - rest[1:8]) @ eye.axis_v))  # over half the lid gap
    wide = rest.copy()
    wide[1:8] -= raise_px * np.sin(np.linspace(0, np.pi, 9)[1:-1])[:, None] * eye.axis_v
    x = int(round(0.78 * rest[0, 0] + 0.22 * rest[8, 0]))  # between the outer corner and the iris
    top = int(np.floor(wide[1:8, 1].min())) - 4
    upper = rest[1:8][np.argsort(rest[1:8, 0])]
    bottom = int(round(np.interp(x, upper[:, 0], upper[:, 1]))) + 3  # just below the upper lid at rest

    def lash_row(lids):
        frame = base.copy()
        painter.paint(frame, (0, 0), "right", lids, rest, np.zeros(2))
        return top + int(np.argmin(frame[top:bottom, x].astype(float).sum(1)))

    assert lash_row(rest) - lash_row(wide) >= 0.4 * raise_px


def _drawn_eye():
    """A drawn eye (skin, sclera, blue iris, a black lash line along the upper lid) and its 478 points."""
    import cv2

    base = np.full((120, 160, 3), (150, 170, 200), np.uint8)
    (c0, c1), upper, lower = eyes.EYE_CONTOURS["right"]
    t = np.linspace(0, np.pi, 9)
    xs, up_y, lo_y = 50 + 30 * (1 - np.cos(t)), 60 - 11 * np.sin(t), 60 + 9 * np.sin(t)
    points = np.zeros((478, 2))
    points[[c0] + upper + [c1]] = np.column_stack([xs, up_y])
    points[lower] = np.column_stack([xs[1:-1], lo_y[1:-1]])
    centre, ring = eyes.IRIS["right"]
    points[centre] = (80, 58)
    points[list(ring)] = [(92, 58), (80, 46), (68, 58), (80, 70)]  # the lid hides the iris's top
    opening = np.round(np.concatenate([points[[c0] + upper + [c1]], points[lower][::-1]]) * 4).astype(np.int32)
    cv2.fillPoly(base, [opening], (235, 240, 240), cv2.LINE_8, 2)
    inside = np.zeros(base.shape[:2], np.uint8)
    cv2.fillPoly(inside, [opening], 255, cv2.LINE_8, 2)
    iris = base.copy()
    cv2.circle(iris, (80, 58), 12, (160, 110, 40), -1)
    base[inside > 0] = iris[inside > 0]
    cv2.polylines(base, [np.round(points[[c0] + upper + [c1]] * 4).astype(np.int32)], False, (20, 20, 20), 3, cv2.LINE_8, 2)
    return base, points


def test_a_widened_eye_shows_a_clean_iris_not_the_lash_line_left_behind():
    base, points = _drawn_eye()
    painter = eyes.EyePainter(base, points)
    ids = eyes.contour_ids("right")
    rest = points[ids]
    wide = rest.copy()
    wide[1:8, 1] -= 8 * np.sin(np.linspace(0, np.pi, 9)[1:-1])  # the lid rises 8 px off the iris
    frame = base.copy()
    painter.paint(frame, (0, 0), "right", wide, rest, np.zeros(2))
    yy, xx = np.mgrid[:frame.shape[0], :frame.shape[1]]
    lid_at = np.interp(xx, wide[:9, 0], wide[:9, 1])
    iris = (np.hypot(xx - 80, yy - 58) <= 9) & (yy > lid_at + 3)  # the iris clear of the raised lash line
    assert iris.sum() > 150
    assert frame[iris].min(axis=1).min() > 25, "the photo's lash line still crosses the iris"
    assert np.abs(frame[iris].astype(int) - (160, 110, 40)).max() < 40


def test_a_lowered_lid_brings_its_lash_line_down_and_nothing_past_the_opening_is_painted():
    """Lids follow the gaze down: the photo's lash line must come down with the lid (left behind, the band
    under the lid would show the eyeball as a light line); and only the opening is repainted (a ring past it
    laid the eyeball's light extension over the lash line: an outline around the eye)."""
    import cv2

    base, points = _drawn_eye()
    painter = eyes.EyePainter(base, points)
    rest = points[eyes.contour_ids("right")]
    lowered = rest.copy()
    lowered[1:8, 1] += 4 * np.sin(np.linspace(0, np.pi, 9)[1:-1])
    lowered[9:, 1] += 2 * np.sin(np.linspace(0, np.pi, 9)[1:-1])
    frame = base.copy()
    painter.paint(frame, (0, 0), "right", lowered, rest, np.array([0.0, 0.05]))
    x = 62  # beside the iris (68-92), which is painted over the lash line
    lid_y = float(np.interp(x, lowered[:9, 0], lowered[:9, 1]))
    column = frame[int(lid_y):int(lid_y) + 6, x].astype(int).sum(axis=1)
    assert column[:2].min() < 150, column  # the lash line's dark rows sit at the lowered lid
    opening = np.zeros(base.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(lowered * 4).astype(np.int32)], 255, cv2.LINE_8, 2)
    outside = cv2.dilate(opening, np.ones((3, 3), np.uint8)) == 0
    assert np.array_equal(frame[outside], base[outside])


def test_a_widened_eye_lifts_the_upper_lid_off_the_iris(astro):
    _, face = astro
    rig = build_rig(face.landmarks)
    wide = displace_points(rig, MouthParams(), Life(lid_open=1.0))
    for name, (_, upper, _) in EYES.items():
        centre, ring = eyes.IRIS[name]
        iris_top = face.points[centre, 1] - np.max(np.linalg.norm(face.points[list(ring)] - face.points[centre], axis=1))
        assert wide[upper[3], 1] < iris_top - 0.03 * rig.eye_width  # white shows above the iris
        assert wide[upper[3], 1] > rig.rest[upper[3], 1] - 0.25 * rig.eye_width  # no further than the lid's fold allows
    # Without iris points the lid still rises by the minimum.
    plain = build_rig(face.landmarks[:468])
    lift = rig.rest[EYES["right"][1][3], 1] - displace_points(plain, MouthParams(), Life(lid_open=1.0))[EYES["right"][1][3], 1]
    assert lift > 0.1 * plain.eye_width


def test_heavy_lids_and_a_look_down_leave_the_iris_in_view_and_a_blink_still_closes(astro):
    _, face = astro
    rig = build_rig(face.landmarks)
    (_, upper, lower), mid = EYES["right"], 3

    def opening(life):
        p = displace_points(rig, MouthParams(), life)
        return float((p[lower[mid]] - p[upper[mid]]) @ rig.v)

    rest = opening(Life())
    assert opening(Life(lid_open=-0.6)) < 0.9 * rest  # a smile's squint narrows the eye
    assert opening(Life(lid_open=-1.5, gaze=(0.0, 0.25))) >= 0.39 * rest  # sad lids looking down: 40% stays open
    assert opening(Life(lid_open=-1.5, gaze=(0.0, 0.25), blink=1.0)) < 0.05 * rest
