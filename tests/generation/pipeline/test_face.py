"""Face analysis: the mesh graph can be built ahead, on a thread, and serves detection after."""

from __future__ import annotations

import cv2

from generation.pipeline import face


def test_preloaded_mesh_detects_the_face_and_is_built_once(astronaut_path):
    thread = face.preload()
    if thread is not None:
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert face.preload() is None  # built: nothing left to load
    found = face.detect_face(cv2.imread(str(astronaut_path)))
    assert found is not None and found.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = found.bbox
    assert 100 < x0 < x1 < 400 and 0 < y0 < y1 < 300  # the astronaut's face, upper middle of the 512 px photo
