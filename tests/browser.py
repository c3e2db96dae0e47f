"""A real browser for tests of pages: Debian's chromium and chromium-driver, driven by Selenium. Tests that use
it skip with the reason when either is missing (apt-get install chromium chromium-driver)."""

from __future__ import annotations

import shutil
import tempfile

import pytest

# The flags a closed network needs: without the background ones Chromium keeps trying Google's hosts
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000")


@pytest.fixture(scope="session")
def browser():
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("no browser: install Debian's chromium and chromium-driver (apt-get install chromium "
                    "chromium-driver) for the tests that look at pages")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    from selenium.webdriver.chrome.service import Service

    session = webdriver.Chrome(options=options, service=Service(driver))
    yield session
    session.quit()
    shutil.rmtree(profile, ignore_errors=True)


def broken_images(session) -> list[str]:
    """The page's <img> that did not load."""
    return session.execute_script(
        "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")


def screenshot(session, path) -> None:
    """The whole page as a PNG (the window grown to the page's height)."""
    height = session.execute_script("return document.documentElement.scrollHeight")
    session.set_window_size(1400, min(max(height, 800), 16000))
    session.save_screenshot(str(path))
