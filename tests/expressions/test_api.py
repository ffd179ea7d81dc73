import cv2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def client():
    from django.test import Client

    return Client()


def test_capabilities_shape(client):
    body = client.get("/api/v1/expressions/capabilities").json()
    assert body["success"] is True
    data = body["data"]
    assert all(isinstance(data[k], bool) for k in ("mediapipe", "threeddfa", "openseeface", "mini_xception"))
    assert data["mediapipe"] is True and set(data["reasons"]) == {"mediapipe", "threeddfa", "openseeface", "mini_xception"}


def test_estimate_and_errors(client, astronaut_bgr):
    ok, png = cv2.imencode(".png", astronaut_bgr)
    resp = client.post("/api/v1/expressions/estimate", {"image": SimpleUploadedFile("a.png", png.tobytes(), "image/png")})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["success"] and body["engine"] == "mediapipe"
    assert sum(body["result"]["emotion_probs"].values()) == pytest.approx(1.0)
    bad = client.post("/api/v1/expressions/estimate", {"image": SimpleUploadedFile("a.txt", b"hello", "text/plain")})
    assert bad.status_code == 415 and bad.json()["success"] is False


def test_estimate_names_the_blendshape_source(client, astronaut_bgr):
    from expressions.selectors import expression_capabilities

    ok, png = cv2.imencode(".png", astronaut_bgr)
    body = client.post("/api/v1/expressions/estimate", {"image": SimpleUploadedFile("a.png", png.tobytes(), "image/png"), "engine": "mediapipe"}).json()
    caps = client.get("/api/v1/expressions/capabilities").json()["data"]["details"]["mediapipe"]
    assert body["source"] == caps["source"] == expression_capabilities()["mediapipe"]["source"]
    assert len(body["result"]["blendshapes"]) == caps["blendshape_count"]
    # FaceLandmarker's 52nd score (no ARKit name) comes beside the blendshapes; other engines have none.
    if body["source"] == "face_landmarker.task":
        assert 0.0 <= body["result"]["neutral"] <= 1.0
    else:
        assert body["result"]["neutral"] is None
