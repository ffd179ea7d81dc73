"""Background stage on real frames (the astronaut photo), measured rather than eyeballed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from generation.pipeline import media
from generation.pipeline.background import modes
from generation.pipeline.background.chroma import chroma_alpha, key_uv
from generation.pipeline.background.colors import CSS_COLORS
from generation.pipeline.background.compose import (
    BackgroundStage,
    background_capabilities,
    parse_color,
    validate_options,
)
from generation.pipeline.background.mask import PersonMasker
from generation.pipeline.choices import BACKGROUND_MODES
from generation.pipeline.errors import EngineFailed, InvalidInput, InvalidOption, UnsupportedInput
from generation.pipeline.face import detect_face
from generation.pipeline.types import BackgroundOptions
from paksatalker_site.errors import status_of

SIZE = (720, 720)
EXAMPLES = Path("/tmp/bg_examples")
# Background patches of the astronaut at 720x720: top corners (wall, flag) and the
# left/right edges beside the head. The bottom corners are her suit and helmet.
BG_PATCHES = [(0, 0), (696, 0), (0, 150), (696, 150)]
PATCH = 24


@pytest.fixture(scope="module")
def frame(astronaut_bgr) -> np.ndarray:
    return cv2.resize(astronaut_bgr, SIZE, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def face_box(frame) -> tuple[int, int, int, int]:
    face = detect_face(frame)
    assert face is not None
    return face.bbox


@pytest.fixture(scope="module")
def inner_face(face_box) -> tuple[slice, slice]:
    """The face bbox shrunk by a quarter on each side: skin, eyes, mouth; no hair edge."""
    x0, y0, x1, y1 = face_box
    dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
    return slice(y0 + dy, y1 - dy), slice(x0 + dx, x1 - dx)


def _save(name: str, image: np.ndarray) -> None:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(EXAMPLES / f"{name}.png"), image)


def _run(mode: str, frame: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray | None]:
    with BackgroundStage(BackgroundOptions(mode=mode, **kw), SIZE) as stage:
        out = stage.apply(frame)
        alpha = None if stage.last_alpha is None else stage.last_alpha.copy()
    _save(mode, np.hstack([frame, out]))
    return out, alpha


def _lap_var(image: np.ndarray, region: np.ndarray) -> float:
    lap = cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)
    return float(lap[region].var())


def _patches(image: np.ndarray):
    for x, y in BG_PATCHES:
        yield image[y:y + PATCH, x:x + PATCH].reshape(-1, 3).astype(np.int16)


# --- colours and options -------------------------------------------------------------


def test_parse_color_formats():
    assert parse_color("#00ff00") == (0, 255, 0)
    assert parse_color("#0f0") == (0, 255, 0)
    assert parse_color("#FF8000") == (0, 128, 255)  # BGR order
    assert parse_color("  Green ") == (0, 128, 0)
    assert parse_color("rebeccapurple") == (153, 51, 102)
    assert parse_color("grey") == parse_color("gray") == (128, 128, 128)
    assert len(CSS_COLORS) == 148
    assert all(parse_color(name) for name in CSS_COLORS)


@pytest.mark.parametrize("bad", ["", "#12", "#ggg", "#12345", "notacolor", "rgb(1,2,3)", "00ff00", 123])
def test_parse_color_rejects_with_formats(bad):
    with pytest.raises(InvalidOption) as err:
        parse_color(bad)
    assert status_of(err.value) == 422
    assert "#rrggbb" in err.value.detail and "#rgb" in err.value.detail and "CSS" in err.value.detail


def test_validate_options(tmp_path, frame):
    with pytest.raises(InvalidOption) as err:
        validate_options("sparkles")
    assert all(mode in err.value.detail for mode in BACKGROUND_MODES)
    with pytest.raises(InvalidInput) as err:
        validate_options("image")
    assert status_of(err.value) == 400 and not isinstance(err.value, InvalidOption)
    with pytest.raises(InvalidInput):
        validate_options("image", image_path=tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(UnsupportedInput):
        validate_options("image", image_path=junk)
    with pytest.raises(InvalidOption):
        validate_options("chroma", similarity=0)
    with pytest.raises(InvalidOption):
        validate_options("cinematic", aspect=9)
    with pytest.raises(InvalidOption):
        validate_options("color", color="#zzz")
    good = tmp_path / "bg.png"
    cv2.imwrite(str(good), frame)
    opts = validate_options(" Chroma ", chroma_color="#0000ff")
    assert (opts.mode, opts.color, opts.image_path, opts.chroma_color) == ("chroma", (0, 0, 0), None, (255, 0, 0))
    opts = validate_options("image", image_path=str(good), color="white")
    assert opts.image_path == good and opts.color == (255, 255, 255)


def test_capabilities_are_truthful():
    caps = background_capabilities()
    assert caps is background_capabilities()  # checked once, cached
    assert set(caps["modes"]) == set(BACKGROUND_MODES)
    assert caps["segmentation"]["available"] is True  # mediapipe ships the model in its wheel
    for entry in caps["modes"].values():
        assert entry["ffmpeg_filters"] == []
        assert entry["available"] is (caps["segmentation"]["available"] if entry["needs_segmentation"] else True)
    assert caps["modes"]["blur"]["needs_segmentation"] and not caps["modes"]["chroma"]["needs_segmentation"]
    assert caps["modes"]["chroma"]["reference_filter"]["available"] == ("chromakey" in media.ffmpeg_filters())


# --- modes on the astronaut --------------------------------------------------------------


def test_none_is_identity(frame):
    with BackgroundStage(BackgroundOptions(mode="none"), SIZE) as stage:
        assert stage.apply(frame) is frame


def test_color_replaces_background_keeps_face(frame, inner_face):
    out, alpha = _run("color", frame, color=parse_color("#00ff00"))
    for patch in _patches(out):
        assert np.abs(patch.mean(axis=0) - (0, 255, 0)).max() <= 3
        assert np.percentile(np.abs(patch - (0, 255, 0)).max(axis=1), 99) <= 8
    diff = np.abs(out[inner_face].astype(np.int16) - frame[inner_face])
    assert diff.mean() < 0.5


@pytest.mark.parametrize("mode", ["blur", "portrait"])
def test_blur_modes_soften_background_only(mode, frame, inner_face):
    out, alpha = _run(mode, frame)
    # Background well away from the subject's edge (a 25 px band excluded).
    background = cv2.erode((alpha < 0.05).astype(np.uint8), np.ones((51, 51), np.uint8)) > 0
    assert background.mean() > 0.15
    assert _lap_var(frame, background) >= 3.0 * _lap_var(out, background)
    face = np.zeros(alpha.shape, bool)
    face[inner_face] = True
    ratio = _lap_var(out, face) / _lap_var(frame, face)
    assert 0.9 <= ratio <= 1.1


def test_portrait_blur_grows_with_distance():
    # A 16 px checkerboard with a disc-shaped "person": contrast left in a ring says how blurred it is.
    yy, xx = np.mgrid[0:720, 0:720]
    board = (((yy // 16) + (xx // 16)) % 2 * 255).astype(np.uint8)
    frame = cv2.cvtColor(board, cv2.COLOR_GRAY2BGR)
    alpha = ((yy - 360) ** 2 + (xx - 360) ** 2 < 150 ** 2).astype(np.float32)
    out = modes.portrait_background(frame, alpha)
    dist = np.sqrt((yy - 360) ** 2 + (xx - 360) ** 2) - 150
    near, far = (dist > 15) & (dist < 45), dist > 260
    contrast_near, contrast_far = out[near].std(), out[far].std()
    assert contrast_near > 2.0 * contrast_far
    assert contrast_near < 0.8 * frame[near].std()  # blurred already at the edge, just less


def test_image_mode_cover_fits(tmp_path, frame, inner_face):
    # 640x360 (16:9) gradient: blue encodes x, green encodes y.
    yy, xx = np.mgrid[0:360, 0:640]
    grad = np.dstack([xx * 255.0 / 639, yy * 255.0 / 359, np.full(xx.shape, 90.0)]).round().astype(np.uint8)
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), grad)
    fitted = modes.cover_fit(grad, SIZE)
    assert fitted.shape == (720, 720, 3)
    # Scale 2 (height decides), centre crop x0 = (1280 - 720) / 2 = 280: column c shows x = (c + 280) / 2.
    for col in (0, 360, 719):
        assert abs(int(fitted[100, col, 0]) - (col + 280) / 2 * 255 / 639) <= 3
    for row in (0, 719):
        assert abs(int(fitted[row, 100, 1]) - row / 2 * 255 / 359) <= 3
    out, alpha = _run("image", frame, image_path=path)
    for patch, (x, y) in zip(_patches(out), BG_PATCHES):
        expected = fitted[y:y + PATCH, x:x + PATCH].reshape(-1, 3).astype(np.int16)
        assert np.abs(patch - expected).mean() <= 2
    assert np.abs(out[inner_face].astype(np.int16) - frame[inner_face]).mean() < 0.5


def test_cinematic_letterbox_exact(frame):
    bar = modes.letterbox_bar(SIZE, 2.39)
    assert bar == 209  # (720 - 720/2.39) / 2 = 209.37
    assert modes.letterbox_bar((1280, 720), 2.39) == 92  # 92.22
    assert modes.letterbox_bar((150, 100), 2.0) == 13  # 12.5 rounds half up
    assert modes.letterbox_bar((1280, 400), 2.39) == 0  # already wider: no bars
    out, _ = _run("cinematic", frame)
    assert not out[:bar].any() and not out[720 - bar:].any()
    assert out[bar].any() and out[719 - bar].any()  # the picture starts right after the bar
    picture_in, picture_out = frame[bar:720 - bar].astype(np.int16), out[bar:720 - bar].astype(np.int16)
    centre = (slice(130, 170), slice(340, 380))
    assert 0.3 < np.abs(picture_out[centre] - picture_in[centre]).mean() < 12  # graded, gently
    corner_gain = picture_out[:20, :20].mean() / picture_in[:20, :20].mean()
    assert corner_gain < np.mean(picture_out[centre]) / np.mean(picture_in[centre]) - 0.1  # vignette
    with BackgroundStage(BackgroundOptions(mode="cinematic", aspect=2.0), (150, 100)) as stage:
        small = stage.apply(np.full((100, 150, 3), 200, np.uint8))
    assert not small[:13].any() and not small[87:].any() and small[13:87].all()
    with BackgroundStage(BackgroundOptions(mode="cinematic"), (1280, 400)) as stage:
        wide = stage.apply(np.full((400, 1280, 3), 200, np.uint8))
    assert wide[0, 640].all() and wide[399, 640].all()


# --- chroma -----------------------------------------------------------------------------


def _green_screen(frame, face_box):
    x0, y0, x1, y1 = face_box
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    axes = (int((x1 - x0) * 0.75), int((y1 - y0) * 0.8))
    ellipse = np.zeros(frame.shape[:2], np.uint8)
    cv2.ellipse(ellipse, centre, axes, 0, 0, 360, 255, -1)
    soft = cv2.GaussianBlur(ellipse.astype(np.float32) / 255.0, (0, 0), 1.5)[..., None]
    green = np.zeros_like(frame)
    green[..., 1] = 255
    source = (frame * soft + green * (1.0 - soft) + 0.5).astype(np.uint8)
    return source, ellipse


def _fringe_fraction(image, band) -> float:
    """Share of band pixels with visible key colour: G above max(R, B) by more than 40."""
    px = image[band].astype(np.int16)
    return float((px[:, 1] > np.maximum(px[:, 0], px[:, 2]) + 40).mean())


def test_chroma_keys_without_fringe(frame, face_box):
    source, ellipse = _green_screen(frame, face_box)
    k = np.ones((9, 9), np.uint8)
    band = cv2.dilate(ellipse, k) != cv2.erode(ellipse, k)  # 4 px either side of the boundary
    assert _fringe_fraction(source, band) > 0.3  # the source has a green edge to remove
    with BackgroundStage(BackgroundOptions(mode="chroma", color=(128, 128, 128)), SIZE) as stage:
        out = stage.apply(source)
    _save("chroma", np.hstack([source, out]))
    assert _fringe_fraction(out, band) <= 0.05
    outside = cv2.dilate(ellipse, np.ones((15, 15), np.uint8)) == 0
    assert np.abs(out[outside].astype(np.int16) - 128).max() <= 1
    inside = cv2.erode(ellipse, np.ones((31, 31), np.uint8)) > 0
    assert np.abs(out[inside].astype(np.int16) - frame[inside]).mean() < 0.5


def _ffmpeg_chromakey_alpha(bgr, key_bgr, similarity, blend):
    """vf_chromakey.c's do_chromakey_pixel on yuv444: CCIR U/V, 3x3 mean distance, ramp."""
    def uv(px):
        b, g, r = (px[..., i].astype(np.float64) for i in range(3))
        k = 224.0 / 255.0
        return 128 + k * (-0.16874 * r - 0.33126 * g + 0.5 * b), 128 + k * (0.5 * r - 0.41869 * g - 0.08131 * b)

    u, v = uv(bgr)
    ku, kv = uv(np.array(key_bgr, np.uint8)[None, None])
    h, w = u.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            ys = np.clip([y - 1, y, y + 1], 0, h - 1)
            xs = np.clip([x - 1, x, x + 1], 0, w - 1)
            du = u[np.ix_(ys, xs)] - ku[0, 0]
            dv = v[np.ix_(ys, xs)] - kv[0, 0]
            diff = np.sqrt((du * du + dv * dv) / (255.0 * 255.0 * 2)).mean()
            out[y, x] = np.clip((diff - similarity) / blend, 0, 1) if blend > 0.0001 else float(diff > similarity)
    return out


def test_chroma_alpha_matches_ffmpeg_formula():
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    img[4:12, 4:12] = (rng.integers(0, 60, (8, 8, 3)) + (0, 180, 0)).clip(0, 255)  # near-green block
    for sim, blend in ((0.1, 0.1), (0.2, 0.0)):
        ours = chroma_alpha(img, key_uv((0, 255, 0)), sim, blend)
        ref = _ffmpeg_chromakey_alpha(img, (0, 255, 0), sim, blend)
        agree = np.abs(ours - ref) <= 0.05
        assert agree.mean() >= (1.0 if blend else 0.97)  # a hard cut may flip pixels sitting on the threshold
        assert 0 < (ref < 0.5).sum() < ref.size  # both keyed and kept pixels present


# --- temporal and static behaviour ---------------------------------------------------------


def test_temporal_smoothing_reduces_flicker(frame):
    rng = np.random.default_rng(3)
    masker = PersonMasker(SIZE)
    raws, smooth = [], []
    try:
        for i in range(8):
            noisy = np.clip(frame.astype(np.int16) + rng.normal(0, 8, frame.shape) + (i % 2) * 10, 0, 255).astype(np.uint8)
            alpha = masker.update(noisy)
            smooth.append(alpha.copy())
            raws.append(cv2.resize(masker.last_raw, SIZE, interpolation=cv2.INTER_LINEAR))
    finally:
        masker.close()
    flicker = lambda seq: np.mean([np.abs(a - b).mean() for a, b in zip(seq, seq[1:])])  # noqa: E731
    assert flicker(raws) > 0
    assert flicker(smooth) < flicker(raws)


@pytest.mark.parametrize("mode", ["color", "blur", "chroma"])
def test_static_matches_dynamic(mode, frame, face_box):
    source = _green_screen(frame, face_box)[0] if mode == "chroma" else frame
    x0, y0, x1, y1 = face_box
    moved = source.copy()
    moved[y0:y1, x0:x1] = np.roll(source[y0:y1, x0:x1], 2, axis=0)  # the warp moved the face
    opts = BackgroundOptions(mode=mode, color=(40, 160, 40))
    with BackgroundStage(opts, SIZE, static_background=True) as static, BackgroundStage(opts, SIZE) as dynamic:
        for f in (source, source, moved):
            a, b = static.apply(f, face_box), dynamic.apply(f)
            assert np.abs(a.astype(np.int16) - b).mean() < 1.0
        assert static.region_updates >= 2
        # Pixels of the subject outside the box changed after all: the output must follow
        # them (the matte there stays cached: the background is static by contract).
        if mode == "chroma":  # beside the face box, inside the keyed ellipse
            a = (x1 - x0) * 0.75
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
            patch = (slice(cy - 10, cy + 10), slice(int(cx - 0.9 * a), int(cx - 0.78 * a)))
        else:  # on her suit, well below the face box
            patch = (slice(600, 640), slice(200, 260))
        body = moved.copy()
        body[patch] = 255
        out = static.apply(body, face_box)
        assert np.abs(out[patch].astype(np.int16) - body[patch]).mean() < 2.0
        assert np.abs(out[patch].astype(np.int16) - dynamic.apply(body)[patch]).mean() < 2.0


@pytest.mark.parametrize("mode", ["color", "blur"])
def test_static_matte_work_stays_in_the_changed_box(mode, frame, face_box):
    """With a static background, only the changed box (plus the matte's update margin) is
    re-segmented and refined; an unchanged box costs no model run and no refinement."""
    x0, y0, x1, y1 = face_box
    mx0, my0, mx1, my1 = x0 + (x1 - x0) // 3, y0 + 2 * (y1 - y0) // 3, x1 - (x1 - x0) // 3, y1 - (y1 - y0) // 8
    frames = [frame]
    for i in range(1, 20):  # the face moved a pixel once; then the mouth (inside the person) keeps changing
        moved = frame.copy()
        moved[y0:y1, x0 + 1:x1] = frame[y0:y1, x0:x1 - 1]
        moved[my0:my1, mx0:mx1] = (moved[my0:my1, mx0:mx1] * (0.5 + 0.5 * (i % 2))).astype(np.uint8)
        frames.append(moved)
    with BackgroundStage(BackgroundOptions(mode=mode, color=(40, 160, 40)), SIZE, static_background=True) as stage:
        masker = stage._masker
        stage.apply(frames[0], face_box)
        assert masker.segment_calls == 1
        before = masker._alpha.copy()
        updates = []
        for f in frames[1:]:
            stage.apply(f, face_box)
            alpha = masker._alpha
            box = masker.last_update_box
            if box is None:
                assert np.array_equal(alpha, before)
            else:
                updates.append(box)
                bx0, by0, bx1, by1 = box
                outside = np.ones(alpha.shape, bool)
                outside[by0:by1, bx0:bx1] = False
                assert np.array_equal(alpha[outside], before[outside])  # the matte outside the box is untouched
                # The box is the changed box grown by at most the update margin, never the frame.
                assert bx0 <= x0 and by0 <= y0 and bx1 >= x1 and by1 >= y1
                assert (bx1 - bx0) * (by1 - by0) < 0.5 * SIZE[0] * SIZE[1]
            before = alpha.copy()
        assert updates, "a moving face edge must refresh the matte"
        assert masker.segment_calls <= 4  # the model does not run every frame, nor for the mouth
        assert masker.refine_calls <= 4
        assert stage.region_updates == len(frames) - 1
        # Nothing changed along the edge (the same frame again): no model run, no refinement.
        segs, refines = masker.segment_calls, masker.refine_calls
        stage.apply(frames[-1], face_box)
        assert (masker.segment_calls, masker.refine_calls) == (segs, refines)
        assert masker.last_update_box is None
        # The head moved by several pixels: the model re-runs (on the box) right away.
        shifted = frame.copy()
        shifted[y0:y1, x0 + 8:x1] = frame[y0:y1, x0:x1 - 8]
        stage.apply(shifted, face_box)
        assert masker.segment_calls == segs + 1


def test_wrong_frame_size_is_an_error(frame):
    with BackgroundStage(BackgroundOptions(mode="color"), (640, 360)) as stage:
        with pytest.raises(EngineFailed):
            stage.apply(frame)


@pytest.mark.parametrize(("mode", "builder"), [("blur", "blurred_background"), ("portrait", "portrait_background"),
                                               ("color", "background_estimate")])
def test_static_background_is_built_once_per_job(mode, builder, frame, face_box, monkeypatch):
    """The background behind the person never moves: it is built from the first frame only,
    however many frames follow; a moving background is rebuilt for every frame."""
    calls = []
    real = getattr(modes, builder)
    monkeypatch.setattr(modes, builder, lambda *a, **kw: calls.append(1) or real(*a, **kw))
    x0, y0, x1, y1 = face_box
    frames = []
    for shift in (0, 1, 2, 1, 0, -1):
        moved = frame.copy()
        moved[y0:y1, x0:x1] = np.roll(frame[y0:y1, x0:x1], shift, axis=1)
        frames.append(moved)
    with BackgroundStage(BackgroundOptions(mode=mode, color=(40, 160, 40)), SIZE, static_background=True) as stage:
        for f in frames:
            stage.apply(f, face_box)
    assert len(calls) == 1
    calls.clear()
    with BackgroundStage(BackgroundOptions(mode=mode, color=(40, 160, 40)), SIZE) as stage:
        for f in frames:
            stage.apply(f)
    assert len(calls) == len(frames)
