"""The Studio page on a server that requires API keys: it asks for one and still works."""

from __future__ import annotations

import pytest
import requests

from tests.service import Service

pytestmark = [pytest.mark.slow, pytest.mark.integration]

KEY = "studio-test-key"


@pytest.fixture(scope="module")
def keyed_service(tmp_path_factory):
    service = Service(tmp_path_factory.mktemp("keyed-service"), PAKSA_API_KEYS=KEY)
    service.manage("collectstatic", "--noinput", "-v", "0")
    service.start()
    yield service
    service.stop()


def test_studio_with_an_api_key(browser, keyed_service):
    assert requests.get(f"{keyed_service.url}/api/v1/voices", timeout=5).status_code == 401
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(keyed_service.url + "/")
    page.wait_for_selector("body[data-ready='true']")
    # Without a key the page says what is missing, and offers the key field.
    assert page.locator("#api-key-field").is_visible()
    assert "API key" in page.locator("#alert").inner_text()
    page.fill("#api-key", KEY)
    page.dispatch_event("#api-key", "change")
    page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
    page.check("#use-default-avatar")
    page.fill("#text", "A key opens the door.")
    page.select_option("#resolution", "480p")
    page.click("#generate")
    page.wait_for_function("document.getElementById('progress').value >= 100", timeout=120_000)
    page.wait_for_function("document.getElementById('video').readyState >= 1 && document.getElementById('video').duration > 0",
                           timeout=30_000)
    assert page.locator("#alert").is_hidden(), page.locator("#alert").inner_text()
    # Keyed media reaches the player as a blob: URL fetched with the key.
    assert page.evaluate("document.getElementById('video').src").startswith("blob:")
    context.close()
