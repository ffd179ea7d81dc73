import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import mouth, teeth
from generation.pipeline.engines.native import shade as mouth_shade
from generation.pipeline.types import MouthParams


@pytest.fixture(scope="module")
def astro(astronaut_bgr):
    return astronaut_bgr, F.detect_face(astronaut_bgr)


def _contours(cx=100.0, cy=60.0, half=40.0, gap=24.0):
    xs = np.linspace(cx - half, cx + half, 11)
    bump = np.sin(np.linspace(0, np.pi, 11))
    upper = np.stack([xs, cy - 0.3 * gap * bump], 1)
    lower = np.stack([xs, cy + 0.7 * gap * bump], 1)
    return upper, lower


def test_palette_comes_from_the_face(astro):
    img, face = astro
    p = face.points
    pal = mouth.sample_palette(img, p[F.LIPS_OUTER], p[F.LIPS_INNER], [p[50], p[280]], 4)
    assert pal.lip[2] > pal.lip[0]  # lips are red-dominant (BGR)
    assert pal.cavity.sum() < pal.lip.sum() * 0.5 and pal.cavity_deep.sum() < pal.cavity.sum()
    assert pal.teeth.min() > 150


def _palette(astro):
    img, face = astro
    p = face.points
    return mouth.sample_palette(img, p[F.LIPS_OUTER], p[F.LIPS_INNER], [p[50], p[280]], 4)


def _lum(canvas):
    return canvas.astype(float) @ np.array([0.114, 0.587, 0.299])


def test_interior_stays_inside_the_lips_and_shows_teeth_and_tongue(astro):
    pal = _palette(astro)
    canvas = np.full((120, 200, 3), (90, 120, 170), np.uint8)
    before = canvas.copy()
    upper, lower = _contours()
    mouth.draw_interior(canvas, (0, 0), upper, lower, MouthParams(jaw_open=0.8, teeth=1.0, tongue=0.5), pal, 60.0, np.array([1.0, 0.0]))
    changed = np.abs(canvas.astype(int) - before).sum(2) > 3
    ys, xs = np.nonzero(changed)
    assert xs.min() >= 59 and xs.max() <= 141
    assert ys.min() >= upper[:, 1].min() - 2 and ys.max() <= lower[:, 1].max() + 2
    x = 100 + 4  # inside the first central incisor (the midline is the gap between the two)
    col = _lum(canvas[:, x])
    top = int(np.ceil(upper[5, 1]))
    assert col[top + 3] > 150  # upper teeth just under the upper lip
    assert col[top + 3] > col[int(upper[5, 1] + 0.45 * 24)] + 80  # darker cavity behind
    bottom = canvas[int(lower[5, 1]) - 6, x].astype(int)
    assert bottom[2] > bottom[0] + 20  # reddish tongue above the lower teeth


def test_teeth_are_separate_teeth_and_the_mouth_darkens_to_its_corners(astro):
    pal = _palette(astro)
    canvas = np.full((120, 200, 3), (90, 120, 170), np.uint8)
    upper, lower = _contours(gap=30.0)
    mouth.draw_interior(canvas, (0, 0), upper, lower, MouthParams(jaw_open=1.0, teeth=0.5), pal, 60.0, np.array([1.0, 0.0]))
    # Along a row through the upper teeth the light dips at each gap between two teeth: not one flat band.
    row = _lum(canvas[int(np.ceil(upper[5, 1])) + 3, 80:121])
    dips = [i for i in range(1, len(row) - 1) if row[i] < row[i - 1] and row[i] <= row[i + 1] and row.max() - row[i] > 25]
    assert len(dips) >= 3, row.round()
    assert row.max() - row.min() > 40
    # Buccal corridors: the outer fifths of the opening are far darker than its middle fifth.
    mask = np.zeros(canvas.shape[:2], np.uint8)
    import cv2

    cv2.fillPoly(mask, [np.round(np.concatenate([upper, lower[::-1]])).astype(np.int32)], 1)
    lum = _lum(canvas)
    xs = np.arange(canvas.shape[1])[None, :].repeat(canvas.shape[0], 0)
    t = (xs - upper[0, 0]) / (upper[-1, 0] - upper[0, 0])
    inside = cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0
    outer = lum[inside & ((t < 0.2) | (t > 0.8))].mean()
    middle = lum[inside & (t >= 0.4) & (t < 0.6)].mean()
    assert outer / middle < 0.7


def test_upper_teeth_stay_with_the_head_and_lower_teeth_drop_with_the_jaw():
    dent = teeth.build_dentition(np.array([[-20.0, 0.0], [0.0, 0.0], [20.0, 0.0]]), np.zeros(3), 60.0, 21.0)
    from generation.pipeline.engines.native import head

    model = head.build_head(np.column_stack([np.random.default_rng(0).uniform(-30, 30, (468, 2)), np.zeros(468)]),
                            np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([100.0, 100.0]), 60.0)
    closed = teeth.place(dent, model, 0.0, 0.0, 0.0, None)
    opened = teeth.place(dent, model, 0.0, 0.0, 12.0, None)
    np.testing.assert_allclose(opened.upper_edge, closed.upper_edge)
    np.testing.assert_allclose(opened.lower_edge[:, 1] - closed.lower_edge[:, 1], 12.0)
    # Closed, the lower edges hide behind the upper teeth; the edges rise toward the back (the smile arc).
    mid = len(closed.upper_edge) // 2
    assert closed.lower_edge[mid, 1] < closed.upper_edge[mid, 1]
    assert closed.upper_edge[2, 1] < closed.upper_edge[mid, 1] - 0.02 * 60
    shifted = teeth.place(dent, model, 0.0, 0.0, 0.0, np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]]))
    np.testing.assert_allclose(shifted.upper_edge - closed.upper_edge, np.broadcast_to([5.0, -3.0], closed.upper_edge.shape))


def test_tongue_tip_rises_for_tongue_consonants(astro):
    pal = _palette(astro)
    upper, lower = _contours(gap=26.0)
    rest, tip = (np.full((120, 200, 3), 128, np.uint8) for _ in range(2))
    mouth.draw_interior(rest, (0, 0), upper, lower, MouthParams(jaw_open=0.6), pal, 60.0, np.array([1.0, 0.0]))
    mouth.draw_interior(tip, (0, 0), upper, lower, MouthParams(jaw_open=0.6, tongue=1.0), pal, 60.0, np.array([1.0, 0.0]))
    reddish = lambda c: (c[..., 2].astype(int) - c[..., 0] > 25) & (c.sum(2) > 120)  # noqa: E731
    band = (slice(int(upper[5, 1]), int(lower[5, 1])), slice(92, 109))
    assert reddish(tip[band]).sum() > reddish(rest[band]).sum() + 20


def test_a_wide_opening_shows_the_resting_tongue_in_its_lower_part(astro):
    """Seen from the front, the back of a resting tongue fills the bottom of an open vowel, under the dark cavity."""
    pal = _palette(astro)
    tongue_lum = float(_lum(pal.tongue[None, None])[0, 0])

    def tongue_like(c):  # red against blue like the tongue (teeth are near white), and lit (the cavity is dark)
        red, blue = c[..., 2].astype(float), c[..., 0].astype(float)
        return ((red - blue) > 0.3 * red) & (_lum(c) > 0.6 * tongue_lum)

    shown = {}
    for gap in (10.0, 40.0):
        upper, lower = _contours(gap=gap)
        canvas = np.full((140, 200, 3), 128, np.uint8)
        mouth.draw_interior(canvas, (0, 0), upper, lower, MouthParams(jaw_open=1.0), pal, 60.0, np.array([1.0, 0.0]))
        column = canvas[int(np.ceil(upper[5, 1])):int(lower[5, 1]), 96:105]
        rows = tongue_like(column).mean(axis=1) > 0.5
        shown[gap] = rows.sum() / len(rows)
        assert not rows[: len(rows) // 2].any()  # the upper half is teeth and dark cavity
        if gap == 40.0:
            assert _lum(column[len(rows) // 2 - 2]).mean() + 15 < _lum(column[rows]).mean()  # lit tongue under a dark cavity
    assert shown[40.0] >= 0.15 and shown[40.0] > shown[10.0]


def _flat_mouth(lower_edge: float, half_w: float = 40.0) -> mouth_shade.Shade:
    """A straight mouth 20 px tall (t -10 .. 10) whose lower incisal edge is at ``lower_edge``."""
    table = np.zeros((6, mouth_shade.TABLE_SAMPLES))
    table[mouth_shade.T_TOP], table[mouth_shade.T_BOT] = -10.0, 10.0
    table[mouth_shade.T_UPPER_EDGE], table[mouth_shade.T_LOWER_EDGE] = -6.0, lower_edge
    table[mouth_shade.Q_UPPER] = table[mouth_shade.Q_LOWER] = np.linspace(-3.0, 3.0, mouth_shade.TABLE_SAMPLES)
    colours = np.array([[40, 35, 90], [20, 15, 50], [100, 100, 185], [200, 215, 230], [120, 110, 190]], np.float64)
    k = np.array([60.0, 0.0, 1.0, 5.0, 8.0, 1.0])
    return mouth_shade.Shade(offset=(-half_w, -12.0), u=(1.0, 0.0), v=(0.0, 1.0), half_w=half_w, s0=-1.2, ds=2.4 / (mouth_shade.TABLE_SAMPLES - 1),
                             table=table, colours=colours, k=k)


@pytest.mark.parametrize("compiled", [False, True])
def test_lower_teeth_show_as_teeth_or_not_at_all(compiled):
    """A pixel-high sliver of lower teeth above the lip would be a row of white specks and dark seams."""
    if compiled and not mouth_shade.available():
        pytest.skip("numba unavailable")

    def paint(edge: float, teeth: float) -> np.ndarray:
        sh = _flat_mouth(edge)
        sh.k[mouth_shade.K_TEETH_AMT] = teeth
        canvas = np.full((24, 80, 3), 128, np.uint8)
        mouth_shade.shade(canvas, np.ones((24, 80), np.float32), sh, compiled=compiled)
        return canvas[int(edge) + 10:22, 20:60].astype(int)  # t = y - 12: from just above the incisal edge to the lower lip (t = 10)

    def teeth_pixels(edge: float) -> int:
        return int((np.abs(paint(edge, 1.0) - paint(edge, 0.0)).max(axis=2) > 12).sum())

    assert teeth_pixels(9.0) == 0  # 1 px above the lower lip
    assert teeth_pixels(3.0) > 150  # 7 px: a row of teeth


def test_closed_lips_paint_almost_nothing(astro):
    img, face = astro
    p = face.points
    pal = mouth.sample_palette(img, p[F.LIPS_OUTER], p[F.LIPS_INNER], [p[50], p[280]], 4)
    canvas = np.full((120, 200, 3), 128, np.uint8)
    upper, lower = _contours(gap=0.0)
    mouth.draw_interior(canvas, (0, 0), upper, lower, MouthParams(), pal, 60.0, np.array([1.0, 0.0]))
    changed = np.abs(canvas.astype(int) - 128).sum(2) > 30
    ys, _ = np.nonzero(changed)
    # At most a thin anti-aliased seam along the closed lips.
    assert changed.sum() < 3 * 82 and ys.max() - ys.min() <= 4


@pytest.mark.parametrize("params", [MouthParams(jaw_open=0.8, teeth=1.0, tongue=0.5), MouthParams(jaw_open=1.0, tongue=0.9),
                                    MouthParams(jaw_open=0.3, rounding=0.8), MouthParams(jaw_open=0.5, lower_lip_tuck=1.0)])
def test_compiled_and_numpy_shaders_agree(astro, params):
    if not mouth_shade.available():
        pytest.skip("numba cannot compile the shader here")
    img, face = astro
    p = face.points
    pal = mouth.sample_palette(img, p[F.LIPS_OUTER], p[F.LIPS_INNER], [p[50], p[280]], 4)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (140, 240, 3), dtype=np.uint8)
    upper, lower = _contours(cx=120.0, cy=70.0, gap=30.0)
    axis = np.array([np.cos(0.1), np.sin(0.1)])  # a slight roll
    canvases = []
    for compiled in (True, False):
        canvas = frame.copy()
        roi = canvas[10:130, 20:220]  # a view inside a bigger frame, as the animator passes it
        mouth.draw_interior(roi, (20, 10), upper, lower, params, pal, 60.0, axis, compiled=compiled)
        canvases.append(canvas.astype(int))
    changed = np.abs(canvases[1] - frame).sum(2) > 3
    assert changed.sum() > 500
    assert np.abs(canvases[0] - canvases[1]).max() <= 1  # float64 vs float32 rounding only
