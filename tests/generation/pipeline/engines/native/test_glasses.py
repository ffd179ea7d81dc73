import cv2
import numpy as np
import pytest

from generation.pipeline import face as F
from generation.pipeline.engines.native import glasses
from generation.pipeline.engines.native.animate import FaceAnimator
from generation.pipeline.engines.native.rig import Life, build_rig, displace_points
from generation.pipeline.types import MouthParams

# Lower edge of each brow (outer to inner) and the upper lid below it (outer to inner).
BROW_LID = (([46, 53, 52, 65, 55], [33, 161, 159, 157, 133]), ([276, 283, 282, 295, 285], [263, 388, 386, 384, 362]))


@pytest.fixture(scope="module")
def setup(astronaut_bgr):
    src_face = F.detect_face(astronaut_bgr)
    geo = F.output_geometry(src_face, (512, 512), "full", "720p")  # room between her brows and eyes for a rim
    base = F.crop_to_geometry(astronaut_bgr, geo)
    face = F.transform_face(src_face, geo)
    return base, face, geo


def _with_rims(base: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo wearing black top rims, drawn between each brow and eye; and the rims' mask."""
    iod = F.inter_ocular_distance(points)
    img = base.copy()
    mask = np.zeros(base.shape[:2], np.uint8)
    u = (points[263] - points[33]) / np.linalg.norm(points[263] - points[33])
    for brow, lid in BROW_LID:
        line = 0.7 * points[brow] + 0.3 * points[lid]
        outward = np.sign((line[0] - line[-1]) @ u) * u
        line = np.concatenate([line[:1] + 0.15 * iod * outward, line, line[-1:] - 0.05 * iod * outward])
        pts = np.round(line).astype(np.int32)
        thick = max(3, int(round(0.06 * iod)))
        cv2.polylines(img, [pts], False, (18, 18, 22), thick, cv2.LINE_AA)
        cv2.polylines(mask, [pts], False, 255, thick)
    return img, mask


def test_dark_rims_are_found_and_brows_are_not(setup):
    base, face, _ = setup
    iod = F.inter_ocular_distance(face.points)
    assert glasses.find_rims(base, face.points, iod) is None  # her dark brows alone are no glasses
    worn, mask = _with_rims(base, face.points)
    rims = glasses.find_rims(worn, face.points, iod)
    assert rims is not None
    painter = glasses.RimPainter(worn, face.points, iod)
    # The warp's source has the rims filled with the skin above them; the sprite carries them.
    rim = mask > 0
    assert worn[rim].mean() < 40 and painter.source[rim].mean() > 90
    # Away from the glasses (their ends are covered a little past them, the hinges) the photo is untouched.
    ys, xs = np.nonzero(mask)
    m = int(0.4 * iod)
    away = np.ones(mask.shape, bool)
    away[ys.min() - m:ys.max() + m, xs.min() - m:xs.max() + m] = False
    assert np.array_equal(painter.source[away], worn[away])
    # The bridge between the rims is held too: filled in the source, so the glabella slides out from behind it.
    gap = (slice(ys.min(), ys.max() + 1), slice(int(face.points[133, 0]) + 2, int(face.points[362, 0]) - 2))
    assert np.abs(painter.source[gap].astype(int) - worn[gap]).sum() > 0


def test_rims_stay_rigid_while_the_brows_move(setup):
    base, face, geo = setup
    worn, mask = _with_rims(base, face.points)
    an = FaceAnimator(worn, face, fps=25, animate_margin=geo.animate_margin, frame_count=10, life=False)
    assert an.rims.found

    def frame(life: Life) -> np.ndarray:
        an.life_at = lambda i, e=0.0: life
        return an.render(MouthParams(), 0)

    rest, raised, lowered = frame(Life()), frame(Life(brow_raise=1.5, brow_inner=0.3)), frame(Life(brow_raise=-2.0, brow_inner=-2.0))
    core = cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0
    for moved in (raised, lowered):
        assert np.abs(moved[core].astype(int) - rest[core]).mean() < 6  # the glasses do not bend
    # ... while the forehead above them moves.
    rig = an.rig
    brow = rig.rest[rig.brow_ids]
    x0, y0 = np.floor(brow.min(0) - 0.1 * rig.iod).astype(int)
    x1, y1 = np.ceil(brow.max(0)).astype(int)
    assert np.abs(raised[y0:y1, x0:x1].astype(int) - rest[y0:y1, x0:x1]).mean() > 4
    # Lowered brows never pass below the rims into the lenses.
    dv = (displace_points(rig, MouthParams(), Life(brow_raise=-2.0, brow_inner=-2.0)) - rig.rest)[rig.brow_ids] @ rig.v
    assert np.all(dv <= rig.brow_room + 1e-6)


def test_brow_room_limits_how_far_brows_are_lowered(setup):
    _, face, _ = setup
    free = build_rig(face.landmarks)
    room = np.full(len(face.landmarks), 2.0)
    held = build_rig(face.landmarks, brow_room=room)
    angry = Life(brow_raise=-2.0, brow_inner=-2.0)
    d_free = (displace_points(free, MouthParams(), angry) - free.rest)[free.brow_ids] @ free.v
    d_held = (displace_points(held, MouthParams(), angry) - held.rest)[held.brow_ids] @ held.v
    assert d_free.max() > 5 and d_held.max() <= 2.0 + 1e-6
    # Raising is untouched.
    up = Life(brow_raise=1.5)
    assert np.allclose(displace_points(free, MouthParams(), up), displace_points(held, MouthParams(), up))


def test_brows_are_held_below_the_rims_and_at_the_hinges(setup):
    base, face, _ = setup
    iod = F.inter_ocular_distance(face.points)
    worn, _ = _with_rims(base, face.points)
    painter = glasses.RimPainter(worn, face.points, iod)
    reach, room, reach_up = painter.brow_limits(face.points, iod)
    lower_lids = [145, 374]  # below the rims, behind the lenses
    assert np.all(reach[lower_lids] == 0) and np.all(room[lower_lids] == 0)
    assert np.all(reach_up[lower_lids] == 1)  # raised brows still lift the skin behind the lenses
    assert reach[10] == 1 and room[10] > 0.3 * iod  # the forehead's middle moves freely
    # Without glasses nothing is held.
    bare = glasses.RimPainter(base, face.points, iod)
    assert not bare.found and np.all(bare.brow_limits(face.points, iod)[0] == 1)


def test_the_gap_a_raised_brow_opens_shows_forehead_not_mirrored_brow():
    """Under a brow the rims are filled from the forehead above it; the brow's hairs would smear once it rises."""
    crop = np.full((60, 8, 3), 200, np.uint8)  # forehead
    crop[20:28] = 60  # a brow, resting on ...
    crop[30:38] = 10  # ... the rim
    crop[38:] = 180  # skin behind the lens
    top, bottom = np.full(8, 30.0), np.full(8, 37.0)
    under_brow = glasses.Rims(top=top, bottom=bottom, to_image=np.eye(2, 3), size=(8, 60), ceiling=np.full(8, 18.0))
    filled = glasses._fill_from_above(crop, under_brow, pad=2)
    assert filled[28:40].min() >= 190 and np.array_equal(filled[:28], crop[:28]) and np.array_equal(filled[40:], crop[40:])
    # Without a brow above the rims (past the brows' ends) the skin just above them is mirrored down, as before.
    no_brow = glasses.Rims(top=top, bottom=bottom, to_image=np.eye(2, 3), size=(8, 60), ceiling=np.full(8, np.nan))
    assert glasses._fill_from_above(crop, no_brow, pad=2)[28:40].min() <= 60
