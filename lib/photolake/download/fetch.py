"""Fetching one image: plain Python (no Spark), run by many threads per partition on the executors.

Safety first: only http(s), only allowed hosts (checked again on every redirect hop, so a redirect cannot
reach an internal address), photo_id checked before it becomes a path.  Then politeness (a per-host
rate and connection cap, a descriptive User-Agent, the X-Robots-Tag opt-out), retries with exponential
backoff and jitter on timeouts, connection errors, 429 and 5xx (honouring Retry-After, never on other
4xx), verification (an image, within the pixel limit), optional local resizing, and an atomic write.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import posixpath
import random
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urljoin
from urllib.request import getproxies, proxy_bypass_environment

import certifi
import cv2
import numpy as np
import urllib3
from PIL import Image
from urllib3.exceptions import HTTPError, LocationValueError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from photolake import storage
from photolake.config import DEFAULTS
from photolake.download.failures import FetchFailure
from photolake.download.http import DEADLINES, Attempt, checked_manager
from photolake.download.safety import AddressPolicy, Target, check_url, host_allowed, parse_target
from photolake.imaging import incomplete_reason, jpeg_segment, jpeg_without_last_refinement
from photolake.schemas import PHOTO_ID_PATTERN

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
OPT_OUT_DIRECTIVES = ("noai", "noimageai")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tif", "BMP": "bmp",
              "MPO": "jpg", "HEIF": "heic", "AVIF": "avif"}
_PHOTO_ID = re.compile(PHOTO_ID_PATTERN)
ATTEMPT_TIMEOUTS = 6  # one attempt at an image may take this many timeouts, from connect to the last byte
# A write that fails for one of these fails for every photo after it: the task stops fetching
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


@dataclass(frozen=True)
class FetchSettings:
    """The download step's settings: download.* (photolake.config, where the defaults and their meaning are)."""

    width: int | None = int(DEFAULTS["download.width"])  # None: the original file
    quality: int = DEFAULTS["download.quality"]
    timeout_s: float = DEFAULTS["download.timeout_s"]
    retries: int = DEFAULTS["download.retries"]
    backoff_s: float = DEFAULTS["download.backoff_s"]
    max_backoff_s: float = 30.0
    max_redirects: int = DEFAULTS["download.max_redirects"]
    allow_hosts: tuple[str, ...] = tuple(DEFAULTS["download.allow_hosts"])
    allow_networks: tuple[str, ...] = tuple(DEFAULTS["download.allow_networks"])
    imgix_hosts: tuple[str, ...] = tuple(DEFAULTS["download.imgix_hosts"])
    resize_local: bool = DEFAULTS["download.resize_local"]
    draft_decode: bool = DEFAULTS["download.draft_decode"]  # a progressive JPEG reduced 2x or more: skip its last scans
    user_agent: str = DEFAULTS["download.user_agent"]
    max_bytes: int = DEFAULTS["download.max_bytes"]
    max_pixels: int = DEFAULTS["download.max_pixels"]
    respect_opt_out: bool = DEFAULTS["download.respect_opt_out"]

    @property
    def resizes_locally(self) -> bool:
        """Whether some allowed host's images may be resized here (CPU work) rather than stored as served.
        A wildcard entry (``*.example.org``) is tried as a sample host of its domain."""
        return self.width is not None and self.resize_local and any(
            not host_allowed(parse_target(f"http://{host.replace('*', 'any', 1)}/"), self.imgix_hosts)
            for host in self.allow_hosts)


@dataclass
class DownloadResult:
    photo_id: str
    url: str | None
    path: str | None = None
    status: str = "ok"
    http_status: int | None = None
    error: str | None = None
    attempts: int = 0
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    elapsed_ms: int = 0
    downloaded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


# ---- paths -------------------------------------------------------------------------------------------

def shard_of(photo_id: str) -> str:
    """4,096 folders, from a hash of the id (so ids differing only in case do not collide on macOS)."""
    return hashlib.sha1(photo_id.encode()).hexdigest()[:3]


def image_path(images_root: str, photo_id: str, extension: str = "jpg") -> str:
    """``<images>/<shard>/<photo_id>.<ext>``; the id must be a dataset id, never a path."""
    if not isinstance(photo_id, str) or not _PHOTO_ID.match(photo_id):
        raise FetchFailure("invalid_url",
                           f"photo_id {photo_id!r} is not an 11-character id: refusing it as a file name")
    return f"{images_root.rstrip('/')}/{shard_of(photo_id)}/{photo_id}.{extension}"


class StoredImages:
    """The image files already under the images folder, listed one shard folder at a time as a task's photos
    ask: one listing per shard instead of a request per candidate name (8 formats a photo, each a metadata
    call on HDFS or S3).  A task's photos are each asked about once, before it fetches them."""

    def __init__(self, images_root: str):
        self.root = images_root.rstrip("/")
        self._shards: dict[str, frozenset[str]] = {}

    def _names(self, shard: str) -> frozenset[str]:
        if shard not in self._shards:  # two threads may list one shard at once: the same answer
            files = storage.list_files(f"{self.root}/{shard}", allow_missing=True)
            self._shards[shard] = frozenset(posixpath.basename(f) for f in files)
        return self._shards[shard]

    def find(self, photo_id: str) -> str | None:
        """The stored file of a photo, whatever its format, if there is one (written atomically: complete)."""
        names = self._names(shard_of(photo_id))
        for extension in dict.fromkeys(EXTENSIONS.values()):
            if f"{photo_id}.{extension}" in names:
                return image_path(self.root, photo_id, extension)
        return None

    def has(self, path: str) -> bool:
        """Whether a file a downloads row names is there: from the listing when it is under the folder."""
        relative = path[len(self.root) + 1:] if path.startswith(self.root + "/") else ""
        shard, _, name = relative.partition("/")
        if shard and name and "/" not in name:
            return name in self._names(shard)
        return storage.exists(path)


def request_target(target: Target, settings: FetchSettings) -> Target:
    """For imgix hosts, ask the server for the configured width (w, q, fm=jpg); else the target as it is."""
    if settings.width is None or not host_allowed(target, settings.imgix_hosts):
        return target
    path, _, query_text = target.request_uri.partition("?")
    query = dict(parse_qsl(query_text, keep_blank_values=True))
    query.update({"w": str(settings.width), "q": str(settings.quality), "fm": "jpg"})
    return replace(target, request_uri=f"{path}?{urlencode(query)}")


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


def opted_out(header: str | None) -> bool:
    """X-Robots-Tag: noai / noimageai (optionally for a named agent: 'somebot: noai')."""
    if not header:
        return False
    directives = re.split(r"[,\s]+", header.lower().split(":", 1)[-1] if ":" in header else header.lower())
    return any(d in OPT_OUT_DIRECTIVES for d in directives)


# ---- politeness ------------------------------------------------------------------------------------------

class HostLimiter:
    """Per host: at most ``rate`` requests/s (evenly spaced) and ``connections`` at once.  0 = no limit."""

    def __init__(self, rate: float, connections: int):
        self.rate, self.connections = rate, connections
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def _slot(self, host: str) -> threading.BoundedSemaphore | None:
        if self.connections <= 0:
            return None
        with self._lock:
            return self._slots.setdefault(host, threading.BoundedSemaphore(self.connections))

    def wait_turn(self, host: str) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + 1.0 / self.rate
        if start > now:
            time.sleep(start - now)

    def connection(self, host: str):
        """Hold one of the host's connection slots for a request (``with limiter.connection(host): ...``)."""
        return self._slot(host) or contextlib.nullcontext()


# ---- images -------------------------------------------------------------------------------------------

def inspect_image(data: bytes, max_pixels: int) -> tuple[str, int, int]:
    """(format, width, height) from the header, without decoding the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height, fmt = image.width, image.height, image.format
    except Image.DecompressionBombError as exc:
        raise FetchFailure("too_large", f"decompression bomb: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for non-images
        raise FetchFailure("not_image", f"not an image ({type(exc).__name__}: {exc})") from None
    if width * height > max_pixels:
        raise FetchFailure("too_large",
                           f"{width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,}")
    return fmt, width, height


def complete_image(data: bytes, fmt: str) -> None:
    """FetchFailure(truncated) unless the image is whole: a body that ends early (a Content-Length smaller
    than the image, a server that stops) must not become a stored image."""
    missing = incomplete_reason(data, fmt)
    if missing:
        raise FetchFailure("truncated", f"the {fmt} image is incomplete: {missing} ({len(data):,} bytes received)")


_REDUCED_READS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}


def resize_longest(data: bytes, longest: int, quality: int, draft: bool = True) -> tuple[bytes, int, int]:
    """Longest side to ``longest`` px, decoding no more than needed: libjpeg-turbo's DCT scaling (decode at
    1/2, 1/4, 1/8 when that still covers the target), with ``draft`` a progressive JPEG's last refinement
    scans left out when the DCT scaling applies (``jpeg_without_last_refinement``), one INTER_AREA resample,
    one encode.  The stored pixels keep their orientation, so the EXIF (orientation included) and the ICC
    profile are carried over."""
    with Image.open(io.BytesIO(data)) as image:  # header only: size and metadata
        width, height = image.size
        exif, icc = image.info.get("exif"), image.info.get("icc_profile")
    factor = max(f for f in _REDUCED_READS if f == 1 or max(width, height) / f >= longest)
    flags = _REDUCED_READS[factor] | cv2.IMREAD_IGNORE_ORIENTATION
    coarse = jpeg_without_last_refinement(data) if draft and factor > 1 else None
    pixels = cv2.imdecode(np.frombuffer(coarse, np.uint8), flags) if coarse else None
    if pixels is None:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None:
        raise FetchFailure("not_image", "the image could not be decoded for resizing")
    h, w = pixels.shape[:2]
    scale = longest / max(h, w)
    if scale < 1:
        pixels = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise FetchFailure("not_image", "the resized image could not be encoded")
    out = encoded.tobytes()
    segments = b""
    if exif and len(exif) < 65_530:
        segments += jpeg_segment(0xE1, exif if exif.startswith(b"Exif") else b"Exif\x00\x00" + exif)
    if icc and len(icc) < 65_500:
        segments += jpeg_segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + icc)
    out = out[:2] + segments + out[2:]  # right after SOI
    return out, pixels.shape[1], pixels.shape[0]


# ---- the fetcher ---------------------------------------------------------------------------------------

class Fetcher:
    """Fetches images into ``images_root`` over pooled connections shared by the partition's threads.

    HTTP goes through urllib3 directly: requests on top of it cost about 0.45 ms more CPU an image, a
    quarter of what storing an original costs.  Connections use only addresses ``AddressPolicy`` checked.
    Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as requests and curl take them;
    certificates from certifi, as requests does.  Once a write fails for want of space or permission, the
    task's later photos are not fetched: their bytes would have nowhere to go."""

    def __init__(self, settings: FetchSettings, images_root: str, limiter: HostLimiter, pool_size: int = 16,
                 cpu_slots: int = 1, resolver: Callable[[str, int], list] | None = None):
        self.settings, self.images_root, self.limiter = settings, images_root, limiter
        self.policy = AddressPolicy(settings.allow_networks, resolver)
        self._pool_options = {"maxsize": pool_size, "retries": False, "ca_certs": certifi.where(),
                              "headers": {"User-Agent": settings.user_agent, "Accept": "*/*"}}
        self._timeout = urllib3.Timeout(connect=settings.timeout_s, read=settings.timeout_s)
        self._direct = checked_manager(urllib3.PoolManager(**self._pool_options), self.policy)
        self._proxy_env = getproxies()
        self._proxied: dict[str, urllib3.ProxyManager] = {}
        self._proxied_lock = threading.Lock()
        # Decoding is CPU work: one at a time per task core; more threads only fight over the core.
        self.cpu = threading.Semaphore(cpu_slots)
        self.storage_failure: str | None = None

    def close(self) -> None:
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()

    def fetch(self, photo_id: str, url: str | None) -> DownloadResult:
        started = time.monotonic()
        result = DownloadResult(photo_id, url)
        try:
            image_path(self.images_root, photo_id)  # the id is safe as a file name
            target = check_url(url, self.settings.allow_hosts)
            if self.storage_failure:
                raise FetchFailure("write_error", f"not fetched: storing an image in this task failed "
                                                  f"({self.storage_failure})")
            self._fetch_with_retries(result, target)
        except FetchFailure as failure:
            result.status, result.error = failure.status, failure.error
            result.http_status = failure.http_status or result.http_status
        except Exception as exc:  # noqa: BLE001 - one photo's surprise must not end the task's other photos
            result.status, result.error = "failed", f"unexpected {type(exc).__name__}: {_first_line(exc)}"
        result.elapsed_ms = int((time.monotonic() - started) * 1000)
        result.downloaded_at = datetime.now(timezone.utc)
        return result

    def adopt(self, photo_id: str, url: str | None, path: str) -> DownloadResult | None:
        """A file left by an earlier (perhaps killed) run, if it is a complete image; else it is removed and
        None returned, so the photo is fetched again."""
        data = storage.read_bytes(path)
        try:
            fmt, width, height = inspect_image(data, self.settings.max_pixels)
            complete_image(data, fmt)
        except FetchFailure:
            storage.remove(path)
            return None
        return DownloadResult(photo_id, url, path, "ok", None, None, 0, len(data), width, height,
                              hashlib.sha256(data).hexdigest(), Image.MIME.get(fmt))

    def _fetch_with_retries(self, result: DownloadResult, target: Target) -> None:
        target = request_target(target, self.settings)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            try:
                data, content_type = self._get(target, result)
                self._store(result, data, content_type)
                return
            except FetchFailure as failure:
                if not failure.retry or attempt == attempts:
                    raise
                backoff = min(self.settings.max_backoff_s, self.settings.backoff_s * 2 ** (attempt - 1))
                wait = failure.retry_after if failure.retry_after is not None else backoff * random.uniform(0.5, 1.5)
                time.sleep(min(wait, self.settings.max_backoff_s))

    def _manager(self, target: Target) -> urllib3.PoolManager:
        """The environment's proxy for the URL's scheme unless NO_PROXY names its host; else direct."""
        proxy = self._proxy_env.get(target.scheme)
        if not proxy or proxy_bypass_environment(target.host, self._proxy_env):
            return self._direct
        with self._proxied_lock:
            if target.scheme not in self._proxied:
                proxy_url = proxy if "://" in proxy else f"http://{proxy}"
                try:
                    manager = urllib3.ProxyManager(proxy_url, **self._pool_options)
                except (LocationValueError, AssertionError) as exc:
                    raise FetchFailure("connection_error", f"the proxy {proxy!r} for {target.scheme} from the "
                                                           f"environment is not usable: {exc}") from None
                self._proxied[target.scheme] = checked_manager(manager, self.policy)
            return self._proxied[target.scheme]

    def _request(self, target: Target, attempt: Attempt) -> urllib3.BaseHTTPResponse:
        """The response with its headers read and its body not yet."""
        s = self.settings
        try:
            return self._manager(target).request("GET", target.url, preload_content=False, redirect=False,
                                                 retries=False, timeout=self._timeout)
        except (HTTPError, OSError) as exc:
            if attempt.expired:
                raise FetchFailure("timeout", f"no answer within the attempt's {attempt_seconds(s):g} s",
                                   retry=True) from None
            if isinstance(exc, NewConnectionError):  # a subclass of the timeouts: refused, unresolvable
                raise FetchFailure("connection_error", _first_line(exc), retry=True) from None
            if isinstance(exc, HTTPTimeoutError):
                raise FetchFailure("timeout", f"no answer within {s.timeout_s:g} s ({type(exc).__name__})",
                                   retry=True) from None
            if isinstance(exc, LocationValueError):
                raise FetchFailure("invalid_url", f"malformed URL {target.url!r}: {exc}") from None
            raise FetchFailure("connection_error", _first_line(exc), retry=True) from None  # resets, TLS, proxy

    def _get(self, target: Target, result: DownloadResult) -> tuple[bytes, str | None]:
        s = self.settings
        for _hop in range(s.max_redirects + 1):
            self.limiter.wait_turn(target.host)
            with self.limiter.connection(target.host), DEADLINES.limit(attempt_seconds(s)) as attempt:
                response = self._request(target, attempt)
                body_read = False
                try:
                    result.http_status = response.status
                    if response.status in REDIRECT_STATUSES and response.headers.get("Location"):
                        # every hop is checked as the first was: a redirect must not leave the allow list
                        target = check_url(urljoin(target.url, response.headers["Location"]), s.allow_hosts)
                        continue
                    body = self._body(response, attempt)
                    body_read = True
                    return body
                finally:
                    if not body_read:  # a connection with a body left unread cannot serve another request
                        response.close()
                    response.release_conn()
        raise FetchFailure("http_error", f"more than {s.max_redirects} redirects (a redirect loop?)",
                           result.http_status)

    def _body(self, response: urllib3.BaseHTTPResponse, attempt: Attempt) -> tuple[bytes, str | None]:
        s = self.settings
        status = response.status
        if status != 200:
            retry = status in RETRY_STATUSES
            raise FetchFailure("http_error", f"HTTP {status} {response.reason or ''}".strip(), status, retry=retry,
                               retry_after=retry_after_seconds(response.headers.get("Retry-After")) if retry else None)
        if s.respect_opt_out and opted_out(response.headers.get("X-Robots-Tag")):
            raise FetchFailure("http_error", f"opted out of AI use: X-Robots-Tag: {response.headers['X-Robots-Tag']}",
                               status)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > s.max_bytes:
            raise FetchFailure("too_large", f"{int(declared):,} bytes, over the limit of {s.max_bytes:,}", status)
        chunks, size = [], 0
        try:
            for chunk in response.stream(1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > s.max_bytes:
                    raise FetchFailure("too_large", f"more than {s.max_bytes:,} bytes", status)
        except (HTTPError, OSError) as exc:  # reset, bad gzip, or closed before Content-Length (urllib3 enforces it
            # on the bytes as sent, which a check on the decoded body could not do for a gzip-encoded one)
            if attempt.expired:
                raise FetchFailure("timeout", f"body still arriving ({size:,} bytes) when the attempt's "
                                              f"{attempt_seconds(s):g} s were up", status, retry=True) from None
            if isinstance(exc, ReadTimeoutError):
                raise FetchFailure("timeout", f"the body stalled for {s.timeout_s:g} s", status, retry=True) from None
            raise FetchFailure("connection_error", f"body cut short: {_first_line(exc)}", status, retry=True) from None
        if attempt.expired:  # a body without a declared length ends where the deadline cut it
            raise FetchFailure("timeout", f"body still arriving ({size:,} bytes) when the attempt's "
                                          f"{attempt_seconds(s):g} s were up", status, retry=True)
        return b"".join(chunks), response.headers.get("Content-Type")

    def _store(self, result: DownloadResult, data: bytes, content_type: str | None) -> None:
        s = self.settings
        fmt, width, height = inspect_image(data, s.max_pixels)
        complete_image(data, fmt)
        imgix = s.width is not None and host_allowed(parse_target(result.url), s.imgix_hosts)
        if s.width is not None and not imgix and s.resize_local and max(width, height) > s.width:
            with self.cpu:
                data, width, height = resize_longest(data, s.width, s.quality, s.draft_decode)
            fmt, content_type = "JPEG", "image/jpeg"
        path = image_path(self.images_root, result.photo_id, EXTENSIONS.get(fmt, "img"))
        try:
            storage.write_atomic(path, data)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno in STORAGE_ERRNOS:
                self.storage_failure = f"{reason}: {path}"
            raise FetchFailure("write_error", f"could not store the image: {reason}: {path}") from None
        result.path, result.bytes, result.width, result.height = path, len(data), width, height
        result.sha256 = hashlib.sha256(data).hexdigest()
        result.content_type = Image.MIME.get(fmt) or (content_type or "").split(";")[0] or None
        result.status, result.error = "ok", None


def attempt_seconds(settings: FetchSettings) -> float:
    """How long one attempt at an image (connect to last byte) may take."""
    return settings.timeout_s * ATTEMPT_TIMEOUTS


def _first_line(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ProtocolError) and len(exc.args) == 2:  # urllib3's (message, cause): readable, not a tuple
        message, cause = (str(a) for a in exc.args)
        text = message if cause in message else f"{message.rstrip('.')}: {cause}"
    return text.splitlines()[0][:300]
