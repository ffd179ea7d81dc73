"""The painted default avatar: the project's own detector must find it and
place the mesh on the painted features."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from generation.pipeline.avatar import portrait as avatar
from generation.pipeline.avatar.portrait import (
    avatar_layout,
    default_avatar_path,
    render_default_avatar,
)
from generation.pipeline.face import detect_face, inter_ocular_distance


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return render_default_avatar()


@pytest.fixture(scope="module")
def mesh(image) -> np.ndarray:
    face = detect_face(image)
    assert face is not None, "detect_face found no face on the default avatar"
    return face.points


def _assert_mesh_matches(points: np.ndarray, size: int) -> None:
    """The mesh sits on the painted features, tolerances relative to the eye distance."""
    lay = avatar_layout(size)
    iod = lay.inter_ocular
    assert abs(inter_ocular_distance(points) - iod) < 0.08 * iod
    for index, painted in ((468, lay.right_eye), (473, lay.left_eye)):
        assert np.linalg.norm(points[index] - painted) < 0.06 * iod, (index, points[index], painted)
    mx, my = lay.mouth_center
    for index in (13, 14):
        x, y = points[index]
        assert abs(x - mx) < 0.5 * lay.mouth_half_width, (index, x, mx)
        assert lay.mouth_top < y < lay.mouth_bottom, (index, y, lay.mouth_top, lay.mouth_bottom)
        assert abs(y - my) < 0.06 * iod, (index, y, my)
    # Mouth corners at the painted corners; the mouth rests closed.
    assert abs(points[61][0] - (mx - lay.mouth_half_width)) < 0.12 * iod
    assert abs(points[291][0] - (mx + lay.mouth_half_width)) < 0.12 * iod
    assert abs(points[14][1] - points[13][1]) < 0.05 * iod
    # Lids bracket the irises; nose and chin in place.
    assert points[159][1] < points[468][1] < points[145][1]
    assert points[386][1] < points[473][1] < points[374][1]
    assert np.linalg.norm(points[1] - lay.nose_tip) < 0.12 * iod
    assert np.linalg.norm(points[152] - lay.chin) < 0.15 * iod


def test_render_is_square_bgr_uint8(image):
    assert image.shape == (768, 768, 3)
    assert image.dtype == np.uint8
    # A real picture, not a flat fill: skin, hair, clothes and background differ.
    assert image.std() > 25


def test_detector_finds_the_painted_face(image, mesh):
    lay = avatar_layout(768)
    xs, ys = mesh[:, 0], mesh[:, 1]
    assert xs.min() > 0 and xs.max() < 768 and ys.min() > 0 and ys.max() < 768
    # The mesh spans the painted head, not some fragment of it.
    assert 1.8 * lay.inter_ocular < xs.max() - xs.min() < 3.2 * lay.inter_ocular


def test_mesh_lies_on_painted_features(mesh):
    _assert_mesh_matches(mesh, 768)


def test_inner_lip_midpoints_on_painted_lip_line(image, mesh):
    # Landmarks 13/14 land where the painted mouth is: the pixels there are lip-dark.
    for index in (13, 14):
        x, y = np.round(mesh[index]).astype(int)
        b, g, r = image[y, x].astype(int)
        assert r > g + 30 and r < 200, (index, (b, g, r))


def test_deterministic(image):
    again = render_default_avatar()
    assert again.tobytes() == image.tobytes()


def test_detected_after_jpeg_reencode(image):
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    face = detect_face(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    assert face is not None
    _assert_mesh_matches(face.points, 768)


def test_detected_at_384(image):
    rendered = render_default_avatar(384)
    assert rendered.shape == (384, 384, 3)
    downscaled = cv2.resize(image, (384, 384), interpolation=cv2.INTER_AREA)
    for small in (rendered, downscaled):
        face = detect_face(small)
        assert face is not None
        _assert_mesh_matches(face.points, 384)


def test_default_avatar_path_caches_and_rerenders_on_version_change(tmp_path, monkeypatch, image):
    path = default_avatar_path(tmp_path / "cache")
    assert path == tmp_path / "cache" / "default_avatar.png"
    loaded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert loaded.tobytes() == image.tobytes()  # PNG is lossless
    # A second call reuses the file.
    mtime = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert default_avatar_path(tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == mtime
    # A changed painter version re-renders over a stale file.
    path.write_bytes(b"stale")
    monkeypatch.setattr(avatar, "AVATAR_VERSION", avatar.AVATAR_VERSION + "-next")
    default_avatar_path(tmp_path / "cache")
    assert cv2.imread(str(path), cv2.IMREAD_COLOR).tobytes() == image.tobytes()
    assert not list((tmp_path / "cache").glob("*.tmp.png"))
