import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import mouth
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


def test_interior_stays_inside_the_lips_and_shows_teeth_and_tongue(astro):
    img, face = astro
    p = face.points
    pal = mouth.sample_palette(img, p[F.LIPS_OUTER], p[F.LIPS_INNER], [p[50], p[280]], 4)
    canvas = np.full((120, 200, 3), (90, 120, 170), np.uint8)
    before = canvas.copy()
    upper, lower = _contours()
    mouth.draw_interior(canvas, (0, 0), upper, lower, MouthParams(jaw_open=0.8, teeth=1.0, tongue=0.5), pal, 60.0, np.array([1.0, 0.0]))
    changed = np.abs(canvas.astype(int) - before).sum(2) > 3
    ys, xs = np.nonzero(changed)
    assert xs.min() >= 59 and xs.max() <= 141
    assert ys.min() >= upper[:, 1].min() - 2 and ys.max() <= lower[:, 1].max() + 2
    col = canvas[:, 100].astype(int).sum(1)
    top = int(np.ceil(upper[5, 1]))
    assert col[top + 2] > 450  # upper teeth just under the upper lip
    assert col[top + 2] > col[int(upper[5, 1] + 0.5 * 24)] + 150  # darker cavity behind
    bottom = canvas[int(lower[5, 1]) - 3, 100].astype(int)
    assert bottom[2] > bottom[0] + 20  # reddish tongue near the lower lip


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
