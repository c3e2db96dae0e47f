"""HTTP servers the download tests start on 127.0.0.1: real photos, and every way a server can fail."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def png_header_only(width: int, height: int) -> bytes:
    """A small PNG that declares width x height pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND",
                                                                                                             b"")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: dict[str, list[float]] = defaultdict(list)  # path -> request times
        self.user_agents: set[str] = set()
        self.in_flight: dict[str, int] = defaultdict(int)  # by route (first path segment)
        self.max_in_flight: dict[str, int] = defaultdict(int)

    def count(self, path: str) -> int:
        return len(self.requests[path])

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.requests.values())

    def times(self) -> list[float]:
        return sorted(t for v in self.requests.values() for t in v)


class FaultyServer:
    """``with FaultyServer(photos_dir) as s:`` serves:
    /photos/<name>            the file, as stored            /slow/<name>   the file after ``delay_s``
    /status/<code>            that status                   /flaky/<name>  500 once, then the file
    /ratelimited/<name>       429 Retry-After: 1 once, then the file
    /hang                     never answers                 /short         Content-Length larger than the body
    /loop                     redirects to itself           /redirect/<name> 302 to /photos/<name>
    /redirect-internal        302 to http://169.254.169.254/latest/meta-data
    /html                     200 text/html                 /bomb          a 40000x40000 PNG header
    /reset                    closes the connection         /noai/<name>   the file with X-Robots-Tag: noai
    /drip                     a declared 1,000-byte body at one byte every ``drip_s``
    /drip-headers             the status line and headers at one byte every ``drip_s``
    /liar/<name>              the whole file, declaring half its length (Content-Length) and then closing
    /redirect-to?url=<url>    302 to that URL, as given
    """

    def __init__(self, photos_dir: Path | None = None, delay_s: float = 0.05, drip_s: float = 0.2):
        recorder = self.recorder = Recorder()
        root = photos_dir
        test_server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes = b"", content_type: str = "image/jpeg", headers=None):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, data: bytes):
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(test_server.drip_s)
                except OSError:  # the client gave up
                    pass
                self.close_connection = True

            def _file(self, name: str, headers=None):
                path = (root / name) if root else None
                if path is None or not path.is_file():
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, path.read_bytes(), headers=headers)

            def do_GET(self):  # noqa: N802
                path = urlsplit(self.path).path
                route = path.lstrip("/").split("/", 1)[0]
                with recorder.lock:
                    recorder.requests[path].append(time.monotonic())
                    recorder.user_agents.add(self.headers.get("User-Agent", ""))
                    recorder.in_flight[route] += 1
                    recorder.max_in_flight[route] = max(recorder.max_in_flight[route], recorder.in_flight[route])
                    seen = recorder.count(path)
                try:
                    self._route(path, seen)
                finally:
                    with recorder.lock:
                        recorder.in_flight[route] -= 1

            def _route(self, path: str, seen: int):
                kind, _, name = path.lstrip("/").partition("/")
                if kind == "photos":
                    self._file(name)
                elif kind == "slow":
                    time.sleep(test_server.delay_s)
                    self._file(name)
                elif kind == "status":
                    self._send(int(name), b"error page", "text/html")
                elif kind == "flaky":
                    if seen == 1:
                        self._send(500, b"oops", "text/plain")
                    else:
                        self._file(name)
                elif kind == "ratelimited":
                    if seen == 1:
                        self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
                    else:
                        self._file(name)
                elif kind == "hang":
                    time.sleep(30)
                elif kind == "short":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b"\xff\xd8\xff\xe0" + b"\x00" * 500)
                    self.wfile.flush()
                    self.close_connection = True
                elif kind == "loop":
                    self._send(302, b"", "text/plain", {"Location": "/loop"})
                elif kind == "redirect":
                    self._send(302, b"", "text/plain", {"Location": f"/photos/{name}"})
                elif kind == "redirect-internal":
                    self._send(302, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data"})
                elif kind == "html":
                    self._send(200, b"<html><body>Not the image you wanted</body></html>", "text/html")
                elif kind == "bomb":
                    self._send(200, png_header_only(40000, 40000), "image/png")
                elif kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                elif kind == "noai":
                    self._file(name, {"X-Robots-Tag": "noai, noimageai"})
                elif kind == "drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self._drip(b"\xff" * 1000)
                elif kind == "drip-headers":
                    self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nX-Padding: " + b"x" * 1000)
                elif kind == "liar":
                    data = (root / name).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(data) // 2))
                    self.end_headers()
                    self.wfile.write(data)
                    self.close_connection = True
                elif kind == "redirect-to":
                    self._send(302, b"", "text/plain", {"Location": parse_qs(urlsplit(self.path).query)["url"][0]})
                else:
                    self._send(404, b"no route", "text/plain")

        self.delay_s, self.drip_s = delay_s, drip_s
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self) -> "FaultyServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
