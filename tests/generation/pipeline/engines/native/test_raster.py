import numpy as np
import pytest

from generation.pipeline.engines.native import raster, warp


def _jittered_mesh(seed):
    """A Delaunay mesh over a box and a deformation of it that folds and collapses some triangles."""
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    box = (10, 8, 150, 118)
    inner = rng.uniform((25, 20), (135, 105), (40, 2))
    src = np.concatenate([inner, warp.anchor_ring(box, per_side=5)]).astype(np.float64)
    tris = Delaunay(src).simplices.astype(np.int32)
    dst = src.copy()
    dst[:40] += rng.normal(0, 4.0, (40, 2))  # big enough to fold some triangles over
    dst[3] = dst[4]  # and collapse a few onto a line
    return src, tris, box, dst, rng


@pytest.mark.parametrize("step", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_and_numpy_rasterisers_agree_within_tolerance(step, seed):
    """numba compiles for the host CPU (FMA, vector widths), so the paths agree closely, not bit for bit."""
    if not raster.available():
        pytest.skip("numba cannot compile the rasteriser here")
    src, tris, box, dst, rng = _jittered_mesh(seed)
    mapper = warp.GridMapper(src, tris, box, step)
    assert mapper.compiled
    for active in (None, rng.random(len(tris)) < 0.6):
        mapper.compiled = True
        disp_c, cov_c = mapper.sample(dst, active)
        mapper.compiled = False
        disp_n, cov_n = mapper.sample(dst, active)
        assert cov_c.any()
        # A sample on a triangle's edge may fall either side of it: a few may differ, no more.
        differing = np.count_nonzero(cov_c != cov_n)
        assert differing <= max(3, 0.005 * np.count_nonzero(cov_n)), differing
        both = cov_c & cov_n
        np.testing.assert_allclose(disp_c[both], disp_n[both], rtol=0, atol=1e-4)
        assert np.abs(disp_c).max() > 1.0  # the deformation really moved samples


def test_a_kernel_numba_cannot_compile_falls_back_with_a_warning(caplog):
    def not_compilable(x):
        return {x: object()}

    with caplog.at_level("WARNING", logger="generation.pipeline.engines.native.raster"):
        assert raster.compile_kernel(not_compilable, (1,), "test kernel") is None
    assert "test kernel unavailable" in caplog.text
