import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.choices import PREPROCESS_MODES
from generation.pipeline.engines.native.animate import FaceAnimator
from generation.pipeline.engines.native.rig import Life, build_rig, displace_points
from generation.pipeline.measure.lipsync import mouth_aperture
from generation.pipeline.types import MouthParams


@pytest.fixture(scope="module")
def setup(astronaut_bgr):
    src_face = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src_face, (512, 512), "full", "480p")
    base = F.crop_to_geometry(astronaut_bgr, geo)
    face = F.transform_face(src_face, geo)
    return base, face, geo


def _animator(setup, **kw):
    base, face, geo = setup
    kw.setdefault("seed", 3)
    return FaceAnimator(base, face, fps=25, animate_margin=geo.animate_margin, frame_count=kw.pop("frame_count", 250), **kw)


def _gap(frame):
    f = F.detect_face(frame)
    assert f is not None, "face lost in the rendered frame"
    return (f.points[14, 1] - f.points[13, 1]) / F.inter_ocular_distance(f.points)


def _eye_open(frame):
    f = F.detect_face(frame)
    p = f.points
    return (np.linalg.norm(p[159] - p[145]) + np.linalg.norm(p[386] - p[374])) / F.inter_ocular_distance(p)


def _aperture(frame):
    f = F.detect_face(frame)
    assert f is not None, "face lost in the rendered frame"
    return mouth_aperture(f.points)


@pytest.mark.parametrize("life", [False, True])
def test_open_vowel_opens_far_more_than_a_bilabial(setup, life):
    # Measured the way the lip-sync report measures: the mesh re-detected on the rendered pixels.
    an = _animator(setup, life=life)
    frame = int(np.argmax(np.abs(an.plan.angle)))  # the most tilted head pose when life is on
    open_gap = _aperture(an.render(MouthParams(jaw_open=1.0, teeth=0.5), frame, 0.8))
    closed_gap = _aperture(an.render(MouthParams(lip_press=1.0), frame, 0.3))
    assert open_gap >= 4 * closed_gap
    assert open_gap > 0.25 and closed_gap < 0.06


def test_displace_points_follows_the_parameters(setup):
    _, face, _ = setup
    rig = build_rig(face.points)
    rest = displace_points(rig, MouthParams())
    wide = displace_points(rig, MouthParams(lip_width=1.0))
    rounded = displace_points(rig, MouthParams(rounding=1.0))
    opened = displace_points(rig, MouthParams(jaw_open=1.0))
    width = lambda p: np.linalg.norm(p[291] - p[61])  # noqa: E731
    assert width(wide) > width(rest) > width(rounded)
    assert opened[152, 1] > rest[152, 1] + 0.1 * rig.iod  # chin drops
    assert opened[14, 1] - opened[13, 1] > 0.3 * rig.iod
    assert abs(rest[14, 1] - rest[13, 1]) < 0.03 * rig.iod  # the photo's open smile is closed at rest
    tucked = displace_points(rig, MouthParams(jaw_open=0.3, lower_lip_tuck=1.0))
    assert tucked[14, 1] - tucked[13, 1] < 0.05 * rig.iod
    assert np.allclose(rest[[33, 133, 263, 362, 1]], face.points[[33, 133, 263, 362, 1]], atol=0.5)
    blink = displace_points(rig, MouthParams(), Life(blink=1.0))
    assert blink[159, 1] > rest[159, 1] + 0.5 * (rest[145, 1] - rest[159, 1])


def test_background_far_from_the_face_is_untouched(setup):
    base, _, _ = setup
    an = _animator(setup)
    frame = an.render(MouthParams(jaw_open=1.0), 40, 1.0)
    x0, y0, x1, y1 = an.box
    outside = np.ones(base.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(frame[outside], base[outside])
    assert np.array_equal(frame[:20], base[:20]) and np.array_equal(frame[-20:, -20:], base[-20:, -20:])
    # The region's own border does not move either (no seam at its edge).
    assert np.abs(frame[y0, x0:x1].astype(int) - base[y0, x0:x1]).max() <= 2


def test_identity_is_preserved_in_a_neutral_frame(setup):
    base, face, _ = setup
    an = _animator(setup, life=False)
    frame = an.render(MouthParams(), 0)
    p = face.points.astype(int)
    for eye in (F.RIGHT_EYE, F.LEFT_EYE):
        xs, ys = p[eye, 0], p[eye, 1]
        sl = (slice(ys.min() - 4, ys.max() + 4), slice(xs.min() - 4, xs.max() + 4))
        assert np.abs(frame[sl].astype(int) - base[sl]).mean() < 2.0


def test_blink_frame_has_closed_eyes(setup):
    an = _animator(setup)
    blink_idx = int(np.argmax(an.plan.blink))
    assert an.plan.blink[blink_idx] == 1.0
    open_idx = int(np.flatnonzero(an.plan.blink == 0)[5])
    assert _eye_open(an.render(MouthParams(), blink_idx)) < 0.6 * _eye_open(an.render(MouthParams(), open_idx))


def test_head_motion_is_small_and_does_not_drift(setup):
    _, face, _ = setup
    an = _animator(setup, frame_count=200, energy_track=np.abs(np.sin(np.arange(200) / 6.0)))
    nose = []
    for i in range(200):
        pts = displace_points(an.rig, MouthParams(), an.life_at(i))
        nose.append(pts[F.NOSE_TIP])
    nose = np.array(nose) - face.points[F.NOSE_TIP]
    assert np.abs(nose).max() < 0.25 * an.rig.iod  # turns and nods of a few degrees, no more
    assert np.abs(nose).max() > 0.05 * an.rig.iod  # but it moves
    assert np.abs(nose.mean(0)).max() < 0.03 * an.rig.iod  # around the photo's own pose: no drift


def test_rendering_is_deterministic_for_a_seed(setup):
    a = _animator(setup, seed=11).render(MouthParams(jaw_open=0.5), 30, 0.5)
    b = _animator(setup, seed=11).render(MouthParams(jaw_open=0.5), 30, 0.5)
    assert np.array_equal(a, b)


def test_happy_raises_the_mouth_corners_less_when_the_photo_already_smiles(setup):
    an = _animator(setup, emotion="happy", life=False)
    smiling = _animator(setup, emotion="happy", life=False, expression={"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0})
    neutral = _animator(setup, life=False)
    corner = lambda a: displace_points(a.rig, MouthParams(), a.life_at(100))[[61, 291], 1].mean()  # noqa: E731
    assert corner(an) < corner(neutral) - 0.02 * an.rig.iod
    assert corner(an) < corner(smiling) < corner(neutral)
    # Sad cancels the photo's own smile: its corners end lower than the neutral render's.
    sad = _animator(setup, emotion="sad", life=False)
    assert corner(sad) > corner(neutral) + 0.05 * an.rig.iod


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_frame_size_matches_the_geometry(astronaut_bgr, mode):
    src_face = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src_face, (512, 512), mode, "480p")
    base = F.crop_to_geometry(astronaut_bgr, geo)
    an = FaceAnimator(base, F.transform_face(src_face, geo), fps=25, animate_margin=geo.animate_margin, frame_count=10)
    frame = an.render(MouthParams(jaw_open=0.6), 2, 0.4)
    assert frame.shape == (geo.size[1], geo.size[0], 3) and frame.dtype == np.uint8


def test_numpy_fallback_renders_the_same_frames(setup, monkeypatch):
    """Without numba (compiled kernels unavailable) the animator still renders, and the same picture."""
    from generation.pipeline.engines.native import raster
    from generation.pipeline.engines.native import shade as mouth_shade

    if not (raster.available() and mouth_shade.available()):
        pytest.skip("numba cannot compile the kernels here: the numpy path is all there is")
    frames = [(MouthParams(jaw_open=0.8, teeth=0.6, tongue=0.3), 7), (MouthParams(lip_press=1.0), 30), (MouthParams(jaw_open=0.4, rounding=0.9), 61)]
    compiled = _animator(setup)
    assert compiled.warper.coarse.compiled and compiled.warper.detail.compiled
    fast = [compiled.render(p, i) for p, i in frames]
    monkeypatch.setattr(raster, "available", lambda: False)
    monkeypatch.setattr(mouth_shade, "_kernel", lambda: None)
    fallback = _animator(setup)
    assert not fallback.warper.coarse.compiled and not fallback.warper.detail.compiled
    for (p, i), ref in zip(frames, fast):
        out = fallback.render(p, i)
        assert np.abs(out.astype(int) - ref).max() <= 1  # identical maps; the shaders differ by float rounding only
        assert np.abs(out.astype(int) - setup[0]).max() > 50  # and the frame really is animated


def test_a_smile_raises_the_cheeks_narrows_the_eyes_and_deepens_the_folds(setup):
    base, face, _ = setup
    rig = build_rig(face.landmarks)
    rest = displace_points(rig, MouthParams())
    smile = displace_points(rig, MouthParams(), Life(smile=1.0, cheek=1.0, lid_open=-0.6))
    assert (rest[[205, 425], 1] - smile[[205, 425], 1]).min() > 0.02 * rig.iod  # cheeks up
    eye_gap = lambda p: p[[145, 374], 1].mean() - p[[159, 386], 1].mean()  # noqa: E731
    assert eye_gap(smile) < 0.85 * eye_gap(rest)
    from generation.pipeline.engines.native import cheeks

    folds = cheeks.FoldPainter(rig.rest, rig.iod, rig.u, rig.v)
    canvas = np.full_like(base, 150)
    folds.paint(canvas, (0, 0), smile, 0.0)
    assert (canvas == 150).all()
    folds.paint(canvas, (0, 0), smile, 1.0)
    line = folds.curve(smile, 0)
    xs, ys = np.round(line[:12]).astype(int).T
    assert canvas[ys, xs].mean() < 150 - 10  # a darker crease from the nose wing down past the corner


@pytest.mark.parametrize("emotion", ["happy", "sad", "angry", "surprised"])
def test_each_emotion_is_its_own_expression_held_with_variation(setup, emotion):
    _, face, _ = setup
    neutral = _animator(setup, life=True)
    an = _animator(setup, emotion=emotion, life=True)
    rig = an.rig
    n0 = displace_points(rig, MouthParams(), neutral.life_at(100), with_head=False)
    e0 = displace_points(rig, MouthParams(), an.life_at(100), with_head=False)
    iod = rig.iod
    corners = (e0[[61, 291], 1] - n0[[61, 291], 1]).mean() / iod  # + down
    inner_brow = (e0[[107, 336], 1] - n0[[107, 336], 1]).mean() / iod
    outer_brow = (e0[[70, 300], 1] - n0[[70, 300], 1]).mean() / iod
    lids = ((e0[145, 1] - e0[159, 1]) - (n0[145, 1] - n0[159, 1])) / iod
    expected = {
        "happy": corners < -0.03 and lids < 0,  # the astronaut already smiles: happy adds less
        "sad": corners > 0.05 and inner_brow < -0.05 and inner_brow < outer_brow - 0.03,
        "angry": inner_brow > 0.08 and outer_brow > 0.04,
        "surprised": inner_brow < -0.05 and outer_brow < -0.05 and lids > 0.02,
    }
    assert expected[emotion], (corners, inner_brow, outer_brow, lids)
    # Held with small variation, never a frozen offset.
    strength = an.plan.emotion[50:]
    assert strength.min() > 0.6 and strength.std() > 0.01


def test_sad_and_angry_flatten_the_photos_own_smile(setup):
    """The astronaut already smiles: her lip seam's middle sits well below its corners until sad or angry cancels it."""
    _, face, _ = setup
    rig = build_rig(face.points)
    assert rig.smile_curve > 0.05 * rig.iod

    def curve(p):  # the seam's middle below its corners, along the face's down axis
        seam = 0.5 * (p[13] + p[14]) - 0.5 * (p[61] + p[291])
        return float(seam @ rig.v) / rig.iod

    at_rest, cancelled = displace_points(rig, MouthParams()), displace_points(rig, MouthParams(), Life(unsmile=1.0))
    rest, flat = curve(at_rest), curve(cancelled)
    assert flat < rest - 0.8 * rig.smile_curve / rig.iod
    # The corners come down to the seam; the upper lip's middle barely rises (else it bares the teeth: a snarl).
    assert float((cancelled[13] - at_rest[13]) @ rig.v) > -0.25 * rig.smile_curve
    assert curve(displace_points(rig, MouthParams(), Life(unsmile=1.0, smile=-1.0))) < flat - 0.03


def test_a_frown_after_a_cancelled_smile_stops_at_the_corner_drop_limit(setup):
    """From a broad smile, cancelling it and a full frown would bend the stretched lips into an arch over the
    teeth (a grimace): the corners' whole drop stops at CORNER_DROP_MAX. A photo that does not smile keeps its whole frown."""
    import dataclasses

    from generation.pipeline.engines.native.rig import CORNER_DROP_MAX

    _, face, _ = setup
    smiling = build_rig(face.points)
    straight = dataclasses.replace(smiling, smile_curve=0.0)

    def corner_drop(rig, life):
        moved = displace_points(rig, MouthParams(), life) - displace_points(rig, MouthParams())
        return float(moved[[61, 291]].mean(axis=0) @ rig.v) / rig.iod

    sad = Life(unsmile=1.0, smile=-1.8)
    assert corner_drop(smiling, sad) == pytest.approx(CORNER_DROP_MAX, abs=0.01)
    assert corner_drop(smiling, sad) > corner_drop(smiling, Life(unsmile=1.0)) + 0.03  # still a frown past the cancel
    assert corner_drop(straight, sad) == pytest.approx(0.07 * 1.8, abs=0.01)  # no smile to cancel: the whole frown


def _brows_pulled_down(setup, painter_name: str):
    """(rig, painter, mesh points with the brows lowered and drawn together, a flat grey canvas)."""
    base, face, _ = setup
    from generation.pipeline.engines.native import cheeks

    rig = build_rig(face.landmarks)
    painter = getattr(cheeks, painter_name)(rig.rest, rig.iod, rig.u, rig.v)
    pulled = displace_points(rig, MouthParams(), Life(brow_raise=-2.0, brow_inner=-1.8))
    return rig, painter, pulled, np.full_like(base, 150)


def test_anger_draws_frown_lines_between_the_brows(setup):
    from generation.pipeline.engines.native import cheeks

    rig, frowns, pulled, canvas = _brows_pulled_down(setup, "FrownPainter")
    frowns.paint(canvas, (0, 0), pulled, 0.0)
    assert (canvas == 150).all()
    frowns.paint(canvas, (0, 0), pulled, 1.0)
    for side in (0, 1):  # a darker crease where the pulled-in brows now put it, and none on the nose below
        xs, ys = np.round(cheeks.crease(pulled, side, rig.iod, rig.v)[2:6]).astype(int).T
        assert canvas[ys, xs].mean() < 150 - 6  # a faint line: at 480p the brows are 40 px apart
    x, y = np.round(rig.rest[4]).astype(int)
    assert (canvas[y - 2:y + 3, x - 2:x + 3] == 150).all()
    # And the angry render draws them: it differs from the same render without them between the brows.
    angry = _animator(setup, emotion="angry", life=False)
    with_lines = angry.render(MouthParams(), 0)
    angry.frowns.folds.clear()
    assert np.abs(with_lines.astype(int) - angry.render(MouthParams(), 0)).max() > 20


def test_anger_darkens_the_lowered_brows_and_sadness_does_not(setup):
    from generation.pipeline.engines.native import cheeks

    rig, shadow, lowered, canvas = _brows_pulled_down(setup, "BrowShadowPainter")
    shadow.paint(canvas, (0, 0), lowered, 1.0)
    for ids in cheeks.BROW_LOWER:  # darker along the brows where they now are, nothing on the cheeks
        xs, ys = np.round(lowered[list(ids[1:4])]).astype(int).T
        assert canvas[ys, xs].mean() < 150 - 20
    x, y = np.round(rig.rest[205]).astype(int)
    assert (canvas[y - 2:y + 3, x - 2:x + 3] == 150).all()
    sad = _animator(setup, emotion="sad", life=False)
    before = sad.render(MouthParams(), 40)
    sad.brow_shadow.folds.clear()
    assert np.array_equal(before, sad.render(MouthParams(), 40))


def _lash_band(rig, pts):
    """(2, 7) height along the face's vertical of the band between each upper lid and the ring above it."""
    from generation.pipeline.engines.native.rig import EYES, LASH_RINGS

    return np.array([(pts[EYES[name][1]] - pts[LASH_RINGS[name]]) @ rig.v for name in ("right", "left")])


@pytest.mark.parametrize("life", [Life(blink=0.6, brow_inner=3.0, lid_open=-1.5), Life(blink=1.0)])
def test_a_lowered_lid_carries_its_lash_line_down_instead_of_stretching_it(setup, monkeypatch, life):
    from generation.pipeline.engines.native import rig as rig_module

    _, face, _ = setup
    rig = build_rig(face.points)
    rest = _lash_band(rig, displace_points(rig, MouthParams()))
    carried = _lash_band(rig, displace_points(rig, MouthParams(), life, with_head=False))
    assert (carried <= 1.55 * rest).all()  # the photo's lash line at most half again as thick
    monkeypatch.setattr(rig_module, "LASH_STRETCH", 100.0)  # without the carry the band smears to twice its height
    stretched = _lash_band(rig, displace_points(rig, MouthParams(), life, with_head=False))
    assert (stretched / rest).max() > 2.0


def test_sad_lids_slant_and_the_raised_inner_brows_draw_together(setup):
    from generation.pipeline.engines.native.rig import EYES

    _, face, _ = setup
    rig = build_rig(face.points)
    rest = displace_points(rig, MouthParams())
    heavy = displace_points(rig, MouthParams(), Life(lid_open=-1.5)) - rest
    sad = displace_points(rig, MouthParams(), Life(lid_open=-1.5, brow_inner=3.0)) - rest
    for _, upper, _ in EYES.values():  # outer end first: the outer half of the lid hangs lower than the inner
        drop = sad[upper] @ rig.v
        assert drop[1] > drop[5] + 0.01 * rig.iod
        assert (heavy[upper] @ rig.v)[1] == pytest.approx((heavy[upper] @ rig.v)[5], abs=0.01 * rig.iod)

    def inner_gap(pts):  # between the brows' inner ends, along the eye axis (the right brow is on the image left)
        return float((pts[F.LEFT_BROW] @ rig.u).min() - (pts[F.RIGHT_BROW] @ rig.u).max())

    assert inner_gap(rest + sad) < inner_gap(rest) - 0.03 * rig.iod
    assert inner_gap(displace_points(rig, MouthParams(), Life(brow_inner=0.0))) == pytest.approx(inner_gap(rest), abs=1e-6)
