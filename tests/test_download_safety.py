"""The download against a hostile world: URLs that parsers read differently, names that resolve to internal
addresses, servers that drip or lie, disks that fill up. Each case checks what reached the servers."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

import pytest

from photolake.download.fetch import Fetcher, FetchSettings, HostLimiter, attempt_seconds
from photolake.download.safety import check_url, internal_kind
from tests.http_servers import FaultyServer

PHOTO_ID = "oSf8ePoG9NU"


@pytest.fixture(scope="module")
def photos(shared) -> list[Path]:
    return sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))


@pytest.fixture
def server(photos):
    with FaultyServer(photos[0].parent, drip_s=0.2) as s:
        yield s


def everything_is(address: str):
    """A resolver that answers every name with ``address`` (as a poisoned or internal DNS would)."""
    def resolve(host, port):
        return [ipaddress.ip_address(address)]
    return resolve


def fetcher(tmp_path, allow_hosts, resolver=None, **settings) -> Fetcher:
    base = {"allow_hosts": tuple(allow_hosts), "timeout_s": 1.0, "retries": 0, "width": None}
    return Fetcher(FetchSettings(**{**base, **settings}), str(tmp_path), HostLimiter(0, 0), resolver=resolver)


# Each is refused with the default allow list, even where every name resolves to the test server and that
# address is allowed: only reading the URL right keeps the request from the server.
CONFUSING_URLS = [
    ("http://{host}\\@images.unsplash.com/x.jpg", "invalid_url"),
    ("http://images.unsplash.com\\@{host}/x.jpg", "invalid_url"),
    ("http:\\\\{host}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com@{host}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com:80@{host}/x.jpg", "invalid_url"),
    ("http://{host}#@images.unsplash.com/x.jpg", "disallowed_host"),
    ("http://{host}?@images.unsplash.com/x.jpg", "disallowed_host"),
    ("http://{host}/@images.unsplash.com/x.jpg", "disallowed_host"),
    ("http://{ip}%2f@images.unsplash.com/x.jpg", "invalid_url"),
    ("http://images.unsplash.com%00.{ip}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com%2e{ip}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com\t@{host}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com\r\nHost: {host}/x.jpg", "invalid_url"),
    ("http://images.unsplash.com /x.jpg", "invalid_url"),
    ("http://images.unsplash.\u0441om/x.jpg", "invalid_url"),  # a Cyrillic es
    ("http://images\uff0eunsplash.com/x.jpg", "invalid_url"),  # a fullwidth full stop
    ("http:/{host}/x.jpg", "invalid_url"),
    ("//images.unsplash.com/x.jpg", "invalid_url"),
    ("http://images.unsplash.com:/x.jpg", "invalid_url"),
    ("http://images.unsplash.com:0/x.jpg", "invalid_url"),
    ("http://images.unsplash.com:99999/x.jpg", "invalid_url"),
    ("http://[::1]:{port}/x.jpg", "disallowed_host"),
    ("http://[::ffff:127.0.0.1]:{port}/x.jpg", "disallowed_host"),
    ("http://0.0.0.0:{port}/x.jpg", "disallowed_host"),
    ("http://127.1:{port}/x.jpg", "invalid_url"),
    ("http://2130706433:{port}/x.jpg", "invalid_url"),
    ("http://0x7f000001:{port}/x.jpg", "invalid_url"),
    ("http://0177.0.0.1:{port}/x.jpg", "invalid_url"),
    ("http://127.000.000.001:{port}/x.jpg", "invalid_url"),
    ("HTTP://{host}/x.jpg", "disallowed_host"),
    ("http://{ip}.:{port}/x.jpg", "disallowed_host"),
    ("http://localhost:{port}/x.jpg", "disallowed_host"),
    ("http://images.unsplash.com.{ip}.nip.io:{port}/x.jpg", "disallowed_host"),
    ("gopher://{host}/x.jpg", "invalid_url"),
]


@pytest.mark.parametrize("template, status", CONFUSING_URLS)
def test_urls_that_parsers_read_differently_never_reach_a_server(server, tmp_path, template, status):
    ip, port = server.host.split(":")
    url = template.format(host=server.host, ip=ip, port=port)
    f = fetcher(tmp_path, ["images.unsplash.com"], everything_is("127.0.0.1"), allow_networks=("127.0.0.0/8",))
    result = f.fetch(PHOTO_ID, url)
    assert (result.status, result.path) == (status, None), result.error
    assert server.recorder.total == 0


def test_a_redirect_is_read_as_strictly_as_the_first_url(server, tmp_path):
    with FaultyServer() as internal:
        for location in (f"http://{internal.host}\\@{server.host}/photos/x.jpg", f"http://{internal.host}/x.jpg",
                         f"http://2130706433:{internal.host.split(':')[1]}/x.jpg"):
            result = fetcher(tmp_path, [server.host]).fetch(PHOTO_ID, f"{server.url}/redirect-to?url={location}")
            assert result.status in ("invalid_url", "disallowed_host") and result.path is None, result.error
        assert internal.recorder.total == 0


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "not globally routable"), ("::1", "loopback"),
    ("fe80::1", "link-local"), ("fd00::1", "private"), ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"), ("ff02::1", "multicast"),
    ("93.184.216.34", None), ("2606:2800:220:1:248:1893:25c8:1946", None),
])
def test_internal_addresses_are_named(address, kind):
    assert internal_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["93.184.216.34", "10.0.0.7"],
                                     ["::ffff:127.0.0.1"]])
def test_an_allowed_name_that_resolves_inside_is_refused(server, tmp_path, answers):
    port = int(server.host.split(":")[1])
    f = fetcher(tmp_path, [f"photos.test:{port}"], lambda host, p: [ipaddress.ip_address(a) for a in answers])
    result = f.fetch(PHOTO_ID, f"http://photos.test:{port}/photos/x.jpg")
    assert result.status == "disallowed_host" and "photos.test resolves to" in result.error, result.error
    assert server.recorder.total == 0


def test_the_connection_goes_to_the_address_that_was_checked(server, photos, tmp_path):
    """photos.test exists only in the test's resolver: the request can only have reached the server through
    the address the policy checked and allowed (download.allow_networks)."""
    port = int(server.host.split(":")[1])
    f = fetcher(tmp_path, [f"photos.test:{port}"], everything_is("127.0.0.1"), allow_networks=("127.0.0.0/8",))
    result = f.fetch(PHOTO_ID, f"http://photos.test:{port}/photos/{photos[0].name}")
    assert result.status == "ok" and Path(result.path).read_bytes() == photos[0].read_bytes()
    assert server.recorder.count(f"/photos/{photos[0].name}") == 1


def test_listed_addresses_and_localhost_are_allowed():
    check_url("http://127.0.0.1:8765/x.jpg", ("127.0.0.1:8765",))
    check_url("http://[::1]:8765/x.jpg", ("[::1]:8765",))
    check_url("http://localhost:8765/x.jpg", ("localhost:8765",))
    check_url("https://a.images.example/x.jpg", ("*.images.example",))
    for url, entries in (("http://127.0.0.1:8765/x.jpg", ("*.0.0.1",)),
                         ("https://images.example/x", ("*.images.example",)),
                         ("http://127.0.0.1:8766/x.jpg", ("127.0.0.1:8765",))):
        with pytest.raises(Exception, match="not on the allow list"):
            check_url(url, entries)


@pytest.mark.parametrize("route", ["drip", "drip-headers"])
def test_a_dripping_server_ends_at_the_attempts_deadline(server, tmp_path, route):
    f = fetcher(tmp_path, [server.host], timeout_s=0.5)  # 1 byte every 0.2 s never trips a 0.5 s read timeout
    started = time.monotonic()
    result = f.fetch(PHOTO_ID, f"{server.url}/{route}")
    elapsed = time.monotonic() - started
    assert (result.status, result.path) == ("timeout", None), result.error
    assert "attempt's 3 s" in result.error
    assert elapsed < attempt_seconds(f.settings) + 5  # the drip alone would take 200 s
    assert not list(tmp_path.rglob("*"))


def test_a_tls_handshake_that_drips_ends_at_the_deadline(tmp_path):
    """A server that answers the TLS ClientHello with a record header for 16 kB and then one byte at a time."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)  # the ClientHello
            connection.sendall(b"\x16\x03\x03\x40\x00")
            while not stop.wait(0.2):
                try:
                    connection.sendall(b"\x00")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    f = fetcher(tmp_path, [host], timeout_s=0.5)
    started = time.monotonic()
    result = f.fetch(PHOTO_ID, f"https://{host}/x.jpg")
    stop.set()
    listener.close()
    assert result.status == "timeout", result.error
    assert time.monotonic() - started < attempt_seconds(f.settings) + 5


def test_an_image_cut_short_by_a_lying_content_length_is_not_stored(server, photos, tmp_path):
    result = fetcher(tmp_path, [server.host]).fetch(PHOTO_ID, f"{server.url}/liar/{photos[0].name}")
    assert (result.status, result.path) == ("truncated", None), result.error
    assert "end-of-image" in result.error and f"{photos[0].stat().st_size // 2:,} bytes" in result.error
    assert not list(tmp_path.rglob("*.jpg"))


def test_a_full_disk_is_a_write_error_and_later_photos_wait(server, photos, small_disk):
    full_disk = small_disk("1m")
    f = fetcher(full_disk, [server.host])
    results = [f.fetch(f"full{n:07d}", f"{server.url}/photos/{photo.name}") for n, photo in enumerate(photos[:8])]
    statuses = [r.status for r in results]
    first_failure = statuses.index("write_error")
    assert first_failure >= 1 and set(statuses[:first_failure]) == {"ok"}
    assert "No space left on device" in results[first_failure].error
    assert all(r.status == "write_error" and r.error.startswith("not fetched") for r in results[first_failure + 1:])
    assert server.recorder.total == first_failure + 1  # nothing fetched once the disk was full
    assert not list(full_disk.rglob("*.part"))
    assert all(Path(r.path).read_bytes() == photo.read_bytes() for r, photo in zip(results, photos) if r.path)
