"""A real service (gunicorn + Huey worker) and a headless Debian chromium driven by Playwright.

Chromium and the playwright package are installed by `make test`; when either is
missing these tests fail with the reason, they do not skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.service import ROOT, Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def save_screenshot(page, name: str, *, publish: bool = False, full_page: bool = True) -> Path:
    """test-artifacts/<name> (git-ignored). With ``publish`` and PAKSA_PUBLISH_SCREENSHOTS=1, also
    docs/screenshots/<name> for the README: an ordinary test run leaves the checkout clean."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.evaluate("window.scrollTo(0, 0)")  # the side column is sticky: capture it at its rest position
    page.screenshot(path=str(path), full_page=full_page)
    if publish and os.environ.get("PAKSA_PUBLISH_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)
    return path


@pytest.fixture(scope="module")
def studio_service(tmp_path_factory):
    service = Service(tmp_path_factory.mktemp("studio-service"))
    # Whitenoise serves from STATIC_ROOT (per data dir), as after `make run`'s collectstatic.
    service.manage("collectstatic", "--noinput", "-v", "0")
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); `make test` does.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: .venv/bin/pip install playwright (the driver only; never `playwright install`).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, studio_service):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(studio_service.url + "/")
    page.wait_for_selector("body[data-ready='true']")
    page.js_errors = errors
    yield page
    context.close()
