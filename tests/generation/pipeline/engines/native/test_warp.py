import numpy as np
import pytest

from generation.pipeline.engines.native import raster, warp


@pytest.fixture(params=["compiled", "numpy"], autouse=True)
def rasteriser(request, monkeypatch):
    """Every test runs on both rasterisers: the compiled one (when numba loads) and the numpy reference."""
    if request.param == "numpy":
        monkeypatch.setattr(raster, "available", lambda: False)
    elif not raster.available():
        pytest.skip("numba cannot compile the rasteriser here")
    return request.param


def test_mesh_has_the_canonical_852_faces():
    tris = warp.mesh_triangles()
    assert tris.shape == (852, 3)
    assert tris.max() < warp.MESH_POINTS
    assert len({tuple(t) for t in tris}) == 852


def _grid_case(step):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    box = (20, 10, 140, 110)
    anchors = warp.anchor_ring(box, per_side=4)
    inner = np.array([[60, 40], [100, 40], [60, 80], [100, 80], [80, 60]], dtype=np.float32)
    pts = np.concatenate([inner, anchors])
    from scipy.spatial import Delaunay

    tris = Delaunay(pts).simplices.astype(np.int32)
    return base, pts, tris, box


@pytest.mark.parametrize("step", [1, 3])
def test_identity_warp_reproduces_the_region(step):
    base, pts, tris, box = _grid_case(step)
    w = warp.TriangleWarper(base, pts, tris, box, step)
    out = w.warp(pts)
    x0, y0, x1, y1 = box
    assert out.shape == (y1 - y0, x1 - x0, 3)
    assert np.abs(out.astype(int) - base[y0:y1, x0:x1]).max() <= 1


def test_moving_the_centre_moves_content_but_not_the_border():
    base, pts, tris, box = _grid_case(1)
    w = warp.TriangleWarper(base, pts, tris, box, 1)
    dst = pts.copy()
    dst[4] += (0, 6)  # centre point 6 px down
    mx, my = w.maps(dst)
    x0, y0, x1, y1 = box
    # At the moved point the sample comes from 6 px above; the border samples itself.
    assert my[66 - y0, 80 - x0] == pytest.approx(60, abs=0.6)
    assert np.allclose(my[0, :], y0) and np.allclose(mx[:, 0], x0)
    assert np.allclose(my[-1, :], y1 - 1, atol=1e-3)


def test_region_box_is_clipped_to_the_frame():
    assert warp.region_box((10, 10, 90, 90), 0.5, (100, 100)) == (0, 0, 100, 100)
    assert warp.region_box((40, 40, 60, 60), 0.25, (100, 100)) == (35, 35, 65, 65)


def test_face_warp_is_identity_at_rest_and_head_motion_spares_the_border():
    base, pts, tris, box = _grid_case(1)
    feather = np.array([[55, 35], [105, 35], [105, 85], [55, 85]], np.float32)
    fw = warp.FaceWarp(base, pts, tris, box, 3, feather, fall=10.0, detail_box=(60, 40, 100, 80), detail_step=1,
                       detail_points=np.array([4]))
    x0, y0, x1, y1 = box
    assert np.abs(fw.warp(pts).astype(int) - base[y0:y1, x0:x1]).max() <= 1
    head = np.array([[1.0, 0.0, 4.0], [0.0, 1.0, -3.0]])  # 4 px right, 3 up
    m = fw.maps(pts, head)
    # Inside the feather the whole content shifts; the region border samples itself.
    assert m[60 - y0, 80 - x0] == pytest.approx((76, 63), abs=0.05)
    assert np.allclose(m[0, :, 1], y0, atol=0.05) and np.allclose(m[:, 0, 0], x0, atol=0.05)
    # A moved centre point is warped exactly on the fine grid, under the head motion too.
    dst = pts.copy()
    dst[4] += (0, 6)
    m = fw.maps(dst, head)
    assert m[66 - 3 - y0, 80 + 4 - x0, 1] == pytest.approx(60, abs=0.6)



@pytest.mark.parametrize("seed", range(5))
def test_skirt_is_the_same_delaunay_as_scipys(seed):
    """A jittered oval inside a ring of anchors (as the animator builds it) gives scipy's triangles exactly."""
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 30))
    radii = rng.uniform(60, 80, 30)
    oval_pts = np.stack([200 + radii * np.cos(angles), 200 + 1.3 * radii * np.sin(angles)], 1)
    ring = 200 + (oval_pts - 200) * 1.22
    anchors = warp.anchor_ring((60, 40, 340, 360))
    inner = rng.uniform(170, 230, (5, 2))  # stands in for the face mesh (ignored by the skirt)
    points = np.concatenate([inner, oval_pts, ring, anchors]).astype(np.float32)
    oval = list(range(5, 35))
    skirt = warp.skirt_triangles(points, oval, 35)
    from scipy.spatial import Delaunay

    idx = np.array(oval + list(range(35, len(points))))
    reference = {tuple(sorted(t)) for t in idx[Delaunay(points[idx].astype(np.float64)).simplices]}
    got = {tuple(sorted(t)) for t in skirt}
    # Every Delaunay triangle that reaches past the oval is kept; only oval-only ones inside it are dropped.
    assert got <= reference and len(got) == len(skirt)
    assert {t for t in reference if max(t) >= 35} <= got
    assert len(got) > 60 and skirt.min() >= 5  # the mesh stand-ins take no part
