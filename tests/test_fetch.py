"""Fetching single images (no Spark): every failure mode gets its status, files are exact or resized as
asked, paths and hosts are safe, and politeness holds as the server sees it."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photolake import storage
from photolake.download.failures import FetchFailure
from photolake.download.fetch import (
    Fetcher,
    FetchSettings,
    HostLimiter,
    image_path,
    opted_out,
    request_target,
    retry_after_seconds,
    shard_of,
)
from photolake.download.safety import check_url, parse_target
from tests.http_servers import FaultyServer

PHOTO_ID = "oSf8ePoG9NU"


@pytest.fixture(scope="module")
def photos(shared) -> list[Path]:
    return sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))


@pytest.fixture(scope="module")
def server(photos):
    with FaultyServer(photos[0].parent, delay_s=0.2) as s:
        yield s


def fetcher(server, tmp_path, limiter=None, **settings) -> Fetcher:
    base = {"allow_hosts": (server.host,), "timeout_s": 2.0, "retries": 2, "backoff_s": 0.05, "width": None}
    return Fetcher(FetchSettings(**{**base, **settings}), str(tmp_path), limiter or HostLimiter(0, 0))


def test_original_is_stored_byte_exact_in_its_shard(server, photos, tmp_path):
    result = fetcher(server, tmp_path).fetch(PHOTO_ID, f"{server.url}/photos/{photos[0].name}")
    assert result.status == "ok", result.error
    expected = photos[0].read_bytes()
    assert result.path == f"{tmp_path}/{shard_of(PHOTO_ID)}/{PHOTO_ID}.jpg"
    assert Path(result.path).read_bytes() == expected
    assert result.sha256 == hashlib.sha256(expected).hexdigest() and result.bytes == len(expected)
    with Image.open(photos[0]) as image:
        assert (result.width, result.height) == image.size
    assert (result.http_status, result.attempts, result.content_type) == (200, 1, "image/jpeg")
    assert not list(tmp_path.rglob("*.part"))


def test_resized_locally_to_the_longest_side(server, photos, tmp_path):
    result = fetcher(server, tmp_path, width=640, quality=80).fetch(PHOTO_ID, f"{server.url}/photos/{photos[1].name}")
    assert result.status == "ok"
    with Image.open(result.path) as stored:
        assert max(stored.size) == 640 and stored.format == "JPEG"
        assert (result.width, result.height) == stored.size
    with Image.open(photos[1]) as original:
        assert abs(stored.size[0] / stored.size[1] - original.size[0] / original.size[1]) < 0.01


def test_imgix_hosts_are_asked_for_the_width():
    def request_url(url, settings):
        return request_target(parse_target(url), settings).url

    settings = FetchSettings(width=1080, quality=85)
    assert request_url("https://images.unsplash.com/photo-1436335231969-f3271f28670d", settings) == \
        "https://images.unsplash.com/photo-1436335231969-f3271f28670d?w=1080&q=85&fm=jpg"
    assert request_url("https://images.unsplash.com/photo-1?ixid=abc&w=50", settings) == \
        "https://images.unsplash.com/photo-1?ixid=abc&w=1080&q=85&fm=jpg"
    assert request_url("https://images.unsplash.com/photo-1", FetchSettings(width=None)) == \
        "https://images.unsplash.com/photo-1"
    assert request_url("http://example.org/a.jpg", settings) == "http://example.org/a.jpg"


@pytest.mark.parametrize("settings, resizes", [
    ({}, False),  # Unsplash only: imgix resizes on the server
    ({"allow_hosts": ("images.unsplash.com", "127.0.0.1:8000")}, True),
    ({"allow_hosts": ("127.0.0.1:8000",), "width": None}, False),  # originals
    ({"allow_hosts": ("127.0.0.1:8000",), "resize_local": False}, False),
    ({"allow_hosts": ("*.imgix.net",), "imgix_hosts": ("*.imgix.net",)}, False),
    ({"allow_hosts": ("*.example.org",)}, True),
])
def test_whether_the_job_resizes_locally(settings, resizes):
    """Sizes the download's tasks: large when nothing is decoded here."""
    assert FetchSettings(**settings).resizes_locally is resizes


@pytest.mark.parametrize("route, status, error_part, requests", [
    ("status/404", "http_error", "HTTP 404", 1),
    ("status/403", "http_error", "HTTP 403", 1),
    ("status/400", "http_error", "HTTP 400", 1),
    ("status/503", "http_error", "HTTP 503", 3),
    ("hang", "timeout", "no answer within", 3),
    ("short", "connection_error", "cut short", 3),
    ("loop", "http_error", "redirects", 6),
    ("redirect-internal", "disallowed_host", "169.254.169.254", 1),
    ("html", "not_image", "not an image", 1),
    ("bomb", "too_large", "pixels", 1),
    ("reset", "connection_error", "", 3),
])
def test_failure_modes(server, tmp_path, route, status, error_part, requests):
    before = server.recorder.count(f"/{route}")
    f = fetcher(server, tmp_path, timeout_s=0.5 if route == "hang" else 2.0)
    result = f.fetch(PHOTO_ID, f"{server.url}/{route}")
    assert (result.status, result.path) == (status, None), result.error
    assert error_part in result.error
    assert server.recorder.count(f"/{route}") - before == requests
    assert not list(tmp_path.rglob("*.jpg"))


def test_proxy_from_the_environment_and_no_proxy(server, photos, tmp_path, monkeypatch):
    """HTTP_PROXY is used as requests and curl use it (the test server answers a proxy's absolute-URI
    requests); NO_PROXY hosts go direct."""
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = server.recorder.count(f"/photos/{photos[1].name}")
    proxied = fetcher(server, tmp_path, allow_hosts=("photos.invalid", server.host))
    result = proxied.fetch(PHOTO_ID, f"http://photos.invalid/photos/{photos[1].name}")  # resolvable only by the proxy
    assert result.status == "ok" and Path(result.path).read_bytes() == photos[1].read_bytes()
    assert server.recorder.count(f"/photos/{photos[1].name}") == before + 1
    with FaultyServer(photos[0].parent) as direct:
        monkeypatch.setenv("HTTP_PROXY", direct.url)  # the proxy now: NO_PROXY must keep 127.0.0.1 off it
        result = fetcher(server, tmp_path / "direct").fetch(PHOTO_ID, f"{server.url}/photos/{photos[2].name}")
        assert result.status == "ok" and direct.recorder.total == 0


def test_500_then_success_and_429_with_retry_after(server, photos, tmp_path):
    f = fetcher(server, tmp_path)
    flaky = f.fetch(PHOTO_ID, f"{server.url}/flaky/{photos[2].name}")
    assert (flaky.status, flaky.attempts) == ("ok", 2)
    limited = f.fetch("_-8vigsqYux", f"{server.url}/ratelimited/{photos[2].name}")
    assert (limited.status, limited.attempts) == ("ok", 2)
    first, second = server.recorder.requests[f"/ratelimited/{photos[2].name}"]
    assert second - first >= 0.95  # Retry-After: 1 honoured


def test_redirect_within_the_allow_list_is_followed(server, photos, tmp_path):
    result = fetcher(server, tmp_path).fetch(PHOTO_ID, f"{server.url}/redirect/{photos[3].name}")
    assert result.status == "ok" and Path(result.path).read_bytes() == photos[3].read_bytes()


def test_opt_out_is_respected_unless_switched_off(server, photos, tmp_path):
    assert fetcher(server, tmp_path).fetch(PHOTO_ID,
                                           f"{server.url}/noai/{photos[0].name}").error.startswith("opted out")
    assert fetcher(server, tmp_path, respect_opt_out=False).fetch(
        PHOTO_ID, f"{server.url}/noai/{photos[0].name}").status == "ok"
    assert opted_out("noai") and opted_out("otherbot: noimageai") and not opted_out("noindex")


@pytest.mark.parametrize("url, status", [
    ("http://169.254.169.254/latest/meta-data", "disallowed_host"),
    ("http://127.0.0.1:9/x.jpg", "disallowed_host"),  # loopback only when listed
    ("http://localhost/x.jpg", "disallowed_host"),
    ("https://images.unsplash.com.evil.example/x.jpg", "disallowed_host"),
    ("ftp://images.unsplash.com/x.jpg", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("https://images.unsplash.com-grass-sun.jpg/", "invalid_url"),
    ("https://images.unsplash.company%20by%20someone.jpg", "invalid_url"),
    ("http://127.0.0.1:8765-grass-sun.jpg/", "invalid_url"),
    ("not a url", "invalid_url"),
    ("", "invalid_url"),
    (None, "invalid_url"),
])
def test_only_http_to_allowed_hosts(url, status):
    with pytest.raises(FetchFailure) as caught:
        check_url(url, ("images.unsplash.com",))
    assert caught.value.status == status


def test_allowed_hosts_pass():
    check_url("https://images.unsplash.com/photo-1", ("images.unsplash.com",))
    check_url("http://127.0.0.1:8765/photo-1", ("127.0.0.1:8765",))
    with pytest.raises(FetchFailure):
        check_url("http://127.0.0.1:8766/photo-1", ("127.0.0.1:8765",))


@pytest.mark.parametrize("photo_id", ["../../../etc", "/etc/passwd", "a/b", "..", "abc", "oSf8ePoG9NU/..", None])
def test_photo_id_never_reaches_a_path_unchecked(server, tmp_path, photo_id):
    with pytest.raises(FetchFailure, match="refusing it as a file name"):
        image_path(str(tmp_path), photo_id)
    result = fetcher(server, tmp_path).fetch(photo_id, f"{server.url}/photos/x.jpg")
    assert result.status == "invalid_url" and server.recorder.count("/photos/x.jpg") == 0


def test_rate_limit_and_connection_cap_hold_server_side(server, photos, tmp_path):
    f = fetcher(server, tmp_path, limiter=HostLimiter(rate=10, connections=0))
    ids = [f"rate{n:07d}" for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: f.fetch(i, f"{server.url}/photos/{photos[4].name}?{i}"), ids))
    assert all(r.status == "ok" for r in results)
    times = server.recorder.requests[f"/photos/{photos[4].name}"]
    # 10 requests/s: sends are 0.1 s apart; arrivals may jitter by a few ms on a loaded machine, so any j later
    # requests arrive at least j * 0.1 s minus that jitter after one, which a limiter-less burst never does
    assert len(times) == 8
    assert all(times[j] - times[i] >= (j - i) * 0.1 - 0.04 for i in range(8) for j in range(i + 1, 8))

    capped = fetcher(server, tmp_path, limiter=HostLimiter(rate=0, connections=2))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: capped.fetch(f"slow{n:07d}", f"{server.url}/slow/{photos[5].name}"), range(8)))
    assert server.recorder.max_in_flight["slow"] == 2
    assert all("photolake" in ua for ua in server.recorder.user_agents)


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert 0 <= retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0 + 1e-9


def test_atomic_write_leaves_no_half_files(tmp_path):
    target = str(tmp_path / "a" / "b.jpg")
    storage.write_atomic(target, b"x" * 10)
    storage.write_atomic(target, b"y" * 5)
    assert Path(target).read_bytes() == b"y" * 5
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.jpg"]


def test_resize_keeps_exif(tmp_path):
    from datetime import datetime
    from fractions import Fraction

    from photolake.download.fetch import resize_longest
    from photolake.sample.images import CameraExif, sample_jpeg
    data = sample_jpeg(1200, 800, [((10, 20, 30), 0.6), ((200, 100, 0), 0.4)], 1,
                       CameraExif("Canon", "EOS", Fraction(1, 125), 2.8, 100, 50.0, datetime(2020, 1, 1)))
    resized, width, height = resize_longest(data, 300, 80)
    with Image.open(io.BytesIO(resized)) as image:
        assert image.size == (width, height) == (300, 200)
        assert image.getexif()[0x010F] == "Canon"


def test_draft_decode_only_where_the_decode_is_reduced(photos):
    from photolake.download.fetch import resize_longest

    def pixels(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"), dtype=np.int16)

    data = photos[1].read_bytes()  # 1920 px, progressive, with a last refinement scan
    exact, width, height = resize_longest(data, 640, 85, draft=False)
    draft = resize_longest(data, 640, 85, draft=True)
    assert draft[1:] == (width, height) and draft[0] != exact
    assert np.abs(pixels(draft[0]) - pixels(exact)).mean() < 1.5
    # a target over half the size needs a full-size decode, where the missing bit would show: no draft there
    with Image.open(photos[1]) as image:
        longest = max(image.size) // 2 + 100
    assert resize_longest(data, longest, 85, draft=True) == resize_longest(data, longest, 85, draft=False)
