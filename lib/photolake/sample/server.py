"""A local image server for the sample: serves ``<root>/<url path>`` on 127.0.0.1 and, as the imgix CDN
behind images.unsplash.com does, resizes on request (``?w=640``, ``?h=``, ``&q=80``, ``&fm=jpg|png|webp``)."""

from __future__ import annotations

import io
import logging
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import Image

log = logging.getLogger(__name__)

FORMATS = {"jpg": ("JPEG", "image/jpeg"), "jpeg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"),
           "webp": ("WEBP", "image/webp")}
MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"RIFF", "image/webp"), (b"GIF8", "image/gif"))


def sniff_content_type(data: bytes, name: str) -> str:
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _int(query: dict, key: str) -> int | None:
    try:
        value = int(float(query[key][0]))
    except (KeyError, ValueError, IndexError):
        return None
    return value if value > 0 else None


def render(data: bytes, query: dict) -> tuple[bytes, str] | None:
    """The image resized as imgix would (fit within w x h, never upscaled), or None to send the bytes as stored."""
    width, height = _int(query, "w"), _int(query, "h")
    fmt = (query.get("fm", [""])[0] or "").lower()
    if not width and not height and fmt not in FORMATS:
        return None
    with Image.open(io.BytesIO(data)) as image:
        box = (width or image.width, height or image.height)
        image.draft("RGB", box)  # JPEG: decode at a reduced scale when that is enough
        image = image.convert("RGB")
        image.thumbnail(box, Image.Resampling.LANCZOS)
        pil_format, content_type = FORMATS.get(fmt, FORMATS["jpg"])
        out = io.BytesIO()
        image.save(out, pil_format, quality=_int(query, "q") or 75)
        return out.getvalue(), content_type


class ImageRequestHandler(BaseHTTPRequestHandler):
    server_version = "photolake-sample/1"
    root: Path

    def log_message(self, fmt, *args):  # quiet: a download job makes thousands of requests
        log.debug("%s " + fmt, self.address_string(), *args)

    def _resolve(self) -> Path | None:
        path = unquote(urlsplit(self.path).path).lstrip("/")
        target = (self.root / path).resolve()
        if self.root not in target.parents or not target.is_file():
            return None
        return target

    def _respond(self, send_body: bool) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        target = self._resolve()
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND, "no such image")
            return
        data = target.read_bytes()
        content_type = sniff_content_type(data, target.name)
        try:
            rendered = render(data, parse_qs(urlsplit(self.path).query))
        except OSError:
            rendered = None  # not an image we can resize: send as stored
        if rendered:
            data, content_type = rendered
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "public, max-age=31536000")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self):  # noqa: N802
        self._respond(send_body=False)


class ImageServer:
    """``with ImageServer(root, port=0) as server: server.url`` serves in a background thread."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1", port: int = 0):
        handler = type("Handler", (ImageRequestHandler,), {"root": Path(root).resolve()})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.requests = 0  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        return self.httpd.requests  # type: ignore[attr-defined]

    def start(self) -> "ImageServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ImageServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the serve-images job)."""
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()
