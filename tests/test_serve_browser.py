"""serve: the web app in a real browser (Chromium through Selenium) against the service on 127.0.0.1: the gallery
and its filters, a photo with its boxes and EXIF, a similar photo, the back button, a user's recommendations and
the cluster map. Screenshots go to output/screenshots/serve-*.png."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from photolake.sample.lake import LakeShape, generate_lake
from photolake.serve.app import create_app
from photolake.serve.holder import LakeHolder, ServiceSettings
from tests.browser import broken_images, screenshot

SHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The service on a free port of 127.0.0.1, over a 150-photo lake whose photos all have an image."""
    import uvicorn

    root = tmp_path_factory.mktemp("web")
    generate_lake(root / "lake", LakeShape(photos=150, images=150, seed=21))
    holder = LakeHolder(ServiceSettings(lake=str(root / "lake"), images=str(root / "lake" / "images"),
                                        cache_dir=str(root / "cache"), reload_s=0))
    holder.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(holder), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", holder
    server.should_exit = True
    thread.join(10)


def wait_for(browser, script: str, seconds: float = 10):
    """Poll a JavaScript expression until it is truthy; returns its value."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = browser.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the page never had {script}")


def test_gallery_filter_photo_similar_back_user_and_map(service, browser):
    url, holder = service
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1400, 1000)
    browser.get(url + "/")
    wait_for(browser, "document.querySelectorAll('.card img').length >= 48")
    assert browser.find_element("id", "summary").text.startswith("150 photos")
    assert broken_images(browser) == [] or wait_for(browser, "[...document.images].every(i => i.complete)")
    screenshot(browser, SHOTS / "serve-gallery.png")

    # filter by an object from the sidebar: the URL, the count and every card follow
    dog = browser.find_element("css selector", ".facet[data-facet='objects'][data-value='dog']")
    expected = int(dog.find_element("css selector", ".n").text)
    dog.click()
    wait_for(browser, f"document.getElementById('summary').textContent.startsWith('{expected} photos')")
    assert "object=dog" in browser.current_url
    cards = browser.find_elements("css selector", ".grid .card")
    assert len(cards) == min(expected, 48)
    screenshot(browser, SHOTS / "serve-filtered.png")

    # open the first photo: its boxes are drawn, its EXIF and palette shown
    photo_id = cards[0].get_attribute("data-id")
    cards[0].click()
    wait_for(browser, "document.querySelector('#photo') && document.querySelector('#photo').complete")
    detection = holder.current.detections(holder.current.pid(photo_id))[0]  # the model shown
    boxes = wait_for(browser, f"document.querySelectorAll('.box').length === {len(detection['objects'])} "
                              f"&& [...document.querySelectorAll('.box')].map(b => b.dataset.label)")
    assert "dog" in boxes and sorted(boxes) == sorted(o["label"] for o in detection["objects"])
    exif = browser.find_element("id", "exif").text
    assert "orientation" in exif and "JPEG" in exif
    assert len(browser.find_elements("css selector", "#palette .palette div")) >= 3
    wait_for(browser, "document.querySelectorAll('#similar .card').length === 12")
    screenshot(browser, SHOTS / "serve-photo.png")

    # follow a similar photo, then the back button returns to the first one
    similar = browser.find_elements("css selector", "#similar .card")[0]
    other = similar.get_attribute("data-id")
    similar.click()
    wait_for(browser, f"location.pathname === '/photos/{other}' && document.querySelector('#photo')")
    browser.back()
    wait_for(browser, f"location.pathname === '/photos/{photo_id}' && document.querySelector('#photo')")
    browser.back()
    wait_for(browser, "location.search.includes('object=dog') && document.querySelectorAll('.grid .card').length")

    # a user's page: the history and every model's recommendations with their reasons
    user_id = holder.current.top_users[0]["user_id"]  # the most active
    browser.get(f"{url}/users/{user_id}")
    columns = "document.querySelectorAll('#recommendations > [data-model]')"
    models = wait_for(browser, f"{columns}.length === 4 && [...{columns}].map(m => m.dataset.model)")
    assert models == ["als", "content", "hybrid", "popularity"]
    assert len(browser.find_elements("css selector", "#recommendations .rec small")) >= 40
    assert browser.find_elements("css selector", "#history .card")
    screenshot(browser, SHOTS / "serve-user.png")

    # the cluster map: a click on a dot opens that photo
    browser.get(url + "/map")
    wait_for(browser, "document.getElementById('summary').textContent.includes('photos shown')")
    point = browser.execute_script("return placed[0]")
    canvas = browser.find_element("id", "map")
    scale = canvas.size["width"] / 1000
    from selenium.webdriver import ActionChains

    x, y = point["px"] * scale - canvas.size["width"] / 2, point["py"] * scale - canvas.size["height"] / 2
    ActionChains(browser).move_to_element_with_offset(canvas, x, y).click().perform()
    wait_for(browser, "location.pathname.startsWith('/photos/')")
    screenshot(browser, SHOTS / "serve-map-click.png")


def test_keyboard_walks_the_gallery_and_escape_returns(service, browser):
    url, _ = service
    browser.get(url + "/?sort=most_viewed")
    wait_for(browser, "document.querySelectorAll('.grid .card').length >= 48")
    ids = browser.execute_script("return [...document.querySelectorAll('.grid .card')].map(c => c.dataset.id)")
    browser.find_elements("css selector", ".grid .card")[0].click()
    wait_for(browser, f"location.pathname === '/photos/{ids[0]}' && document.querySelector('#photo')")
    body = browser.find_element("tag name", "body")
    body.send_keys("\ue014")  # arrow right
    wait_for(browser, f"location.pathname === '/photos/{ids[1]}'")
    browser.find_element("tag name", "body").send_keys("\ue00c")  # escape
    wait_for(browser, "location.search === '?sort=most_viewed' && document.querySelectorAll('.grid .card').length")
    browser.find_element("tag name", "body").send_keys("/")
    assert browser.execute_script("return document.activeElement.id") == "q"


def test_a_bad_filter_in_the_address_is_said_on_the_page(service, browser):
    url, _ = service
    browser.get(url + "/?color=notacolour")
    message = wait_for(browser, "document.querySelector('.error') && document.querySelector('.error').textContent")
    assert "color" in message and "not a colour family" in message
