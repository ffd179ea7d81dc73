"""The Studio page as a person uses it: photo + sentence -> a playable video, and readable errors."""

from __future__ import annotations

import pytest
import requests

from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SENTENCE = "Hello! I am a talking photo, made in the browser in under a minute."


def test_photo_and_text_become_a_playable_video(page, studio_service, astronaut_path):
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.set_input_files("#image", str(astronaut_path))
    page.wait_for_selector("#image-preview:not([hidden])")
    # Expression preview: top emotion and the main blendshapes of the photo.
    page.wait_for_selector("#expression .emotion strong")
    assert page.locator("#expression .bars li").count() >= 3
    page.fill("#text", SENTENCE)
    assert page.locator("#voice option").count() >= 1
    page.select_option("#resolution", "480p")
    page.click("#generate")
    page.wait_for_selector("#progress-block:not([hidden])")
    page.wait_for_function("document.getElementById('progress').value >= 100", timeout=120_000)
    page.wait_for_function("document.getElementById('video').readyState >= 1 && document.getElementById('video').duration > 0",
                           timeout=30_000)
    assert page.locator("#alert").is_hidden(), page.locator("#alert").inner_text()

    task_id = page.evaluate("JSON.parse(localStorage.getItem('paksatalker.history.v1'))[0].id")
    status = requests.get(f"{studio_service.url}/api/v1/status/{task_id}", timeout=5).json()["data"]
    assert status["status"] == "completed"
    duration = page.evaluate("document.getElementById('video').duration")
    assert abs(duration - status["duration"]) < 0.2, (duration, status["duration"])
    assert page.locator("#progress").get_attribute("aria-valuenow") == "100"
    assert page.locator("#downloads a", has_text="Download MP4").get_attribute("href") == f"/api/v1/download/{task_id}.mp4"
    assert status["engine"] in page.locator("#result-facts").inner_text()
    if status["captions"].get("vtt_url"):
        assert page.locator("#downloads a", has_text="VTT").get_attribute("href") == status["captions"]["vtt_url"]
    # Progress came from the event stream, not only from polling.
    assert any(url.endswith(f"/api/v1/status/{task_id}/events") for url in requests_seen)
    # The job is in this browser's history and reopens.
    assert page.locator("#history .history-item").count() == 1
    assert "completed" in page.locator("#history .badge").first.inner_text().lower()
    assert page.js_errors == []
    page.evaluate("document.getElementById('video').currentTime = 1.0")
    page.wait_for_timeout(300)
    save_screenshot(page, "studio.png", publish=True)

    # The layout holds on a 360 px phone: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 780})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(page, "studio-360.png")

    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.click("#history .history-item")
    page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=30_000)
    assert page.locator("#progress").get_attribute("aria-valuenow") == "100"


def test_a_non_image_photo_shows_the_servers_message_verbatim(page, studio_service, tmp_path):
    fake = tmp_path / "portrait.png"
    fake.write_text("This is a text file pretending to be a photo.\n")
    with fake.open("rb") as handle:
        expected = requests.post(f"{studio_service.url}/api/v1/generate/fusion-video", files={"image": handle},
                                 data={"text": SENTENCE}, timeout=30)
    assert expected.status_code in (400, 415, 422) and expected.json()["success"] is False
    detail = expected.json()["detail"]

    page.set_input_files("#image", str(fake))
    page.fill("#text", SENTENCE)
    page.click("#generate")
    alert = page.locator("#alert[role='alert']")
    alert.wait_for(state="visible")
    assert page.locator("#alert .alert-detail").inner_text() == detail
    assert page.locator("#history .history-item").count() == 0
    # Keyboard: the alert is readable and the form is still usable.
    page.focus("#generate")
    assert page.evaluate("document.activeElement.id") == "generate"
    save_screenshot(page, "studio-error.png", publish=True)


def test_options_the_server_cannot_run_are_disabled_with_the_reason(page, studio_service):
    caps = requests.get(f"{studio_service.url}/api/v1/capabilities", timeout=30).json()["data"]
    wav2lip = page.locator("#preferWav2Lip2")
    if caps["models"]["wav2lip2"]:
        assert wav2lip.is_enabled()
    else:
        assert wav2lip.is_disabled()
        reason = caps["reasons"]["wav2lip"]
        assert wav2lip.get_attribute("title") == reason
        assert reason in page.locator("#wav2lip-hint").text_content()  # readable text, not only a tooltip
        assert wav2lip.get_attribute("aria-describedby") == "wav2lip-hint"
    burn = page.locator("#captions option[value='burn']")
    assert burn.is_disabled() == (not caps["ffmpeg"]["filters"]["subtitles"])
    for mode, info in caps["background"]["modes"].items():
        option = page.locator(f"#backgroundMode option[value='{mode}']")
        assert option.is_disabled() == (not info["available"]), mode
    for engine in ("threeddfa", "openseeface", "mini_xception", "mediapipe"):
        option = page.locator(f"#expressionEngine option[value='{engine}']")
        assert option.is_disabled() == (not caps["models"][engine]), engine
        if not caps["models"][engine]:
            assert option.get_attribute("title") == caps["reasons"][engine]
    # Keyboard: Tab reaches the photo picker, and its focus is visible on the drop zone.
    focused = []
    for _ in range(6):  # skip link, header links, then the photo picker
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if focused[-1] == "image":
            break
    assert focused[0] == "Skip to the form" and focused[-1] == "image", focused
    assert page.evaluate("getComputedStyle(document.getElementById('dropzone')).boxShadow") != "none"
