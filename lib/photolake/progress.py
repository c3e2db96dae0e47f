"""Progress of a long step, shown as users of tqdm and img2dataset expect it: done/total, rate and ETA, redrawn
in place on a terminal, one line every few seconds otherwise (CI, logs).

The count moves with every image, not every task: executors report to a small TCP server on the driver
(``Progress.address``) through a ``Reporter`` that sends what it counted twice a second.  A report that
cannot be sent is dropped, never an error: progress is for people, the run summary holds the exact counts.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import sys
import threading
import time
from typing import Callable, TextIO

TTY_ENV = "PHOTOLAKE_TTY"  # spark-submit.sh sets it when its output is a terminal (the driver's is a pipe)
SEND_EVERY_S = 0.5


def interactive(stream: TextIO) -> bool:
    return os.environ.get(TTY_ENV) == "1" or (hasattr(stream, "isatty") and stream.isatty())


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """``with Progress("extract", total, "images") as progress:`` ... ``progress.add(n)`` on the driver, or
    ``reporter(progress.address).add(n)`` on the executors.  ``extra(counts, seconds)`` adds the step's own
    figures (ok and failed, MB/s) to the line."""

    def __init__(self, label: str, total: float | None, unit: str = "images", every_s: float = 5.0,
                 stream: TextIO | None = None, extra: Callable[[dict, float], str] | None = None,
                 host: str = "127.0.0.1", decimals: int = 0, serve: bool = True):
        self.label, self.total, self.unit, self.every_s = label, total, unit, every_s
        self.decimals, self.serve = decimals, serve  # serve: take reports from executors
        self.stream = stream or sys.stdout
        self.extra = extra
        self.counts: dict[str, float] = {"done": 0}
        self._finished = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._host = host
        self._server: socketserver.ThreadingTCPServer | None = None
        self.started = time.monotonic()
        self.interactive = interactive(self.stream)

    @property
    def address(self) -> str | None:
        return f"{self._host}:{self._server.server_address[1]}" if self._server else None

    def add(self, done: float = 1, **counts: float) -> None:
        with self._lock:
            if self._finished:
                return
            self.counts["done"] += done
            for name, value in counts.items():
                self.counts[name] = self.counts.get(name, 0) + value

    def line(self) -> str:
        with self._lock:
            counts = dict(self.counts)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = counts["done"]
        rate = done / elapsed
        d = self.decimals
        parts = [f"{self.label}: {done:,.{d}f}" + (f"/{self.total:,.{d}f} {self.unit}" if self.total is not None
                                                     else f" {self.unit}")]
        if self.total:
            parts[0] += f" ({100 * min(done, self.total) / self.total:.0f}%)"
        parts.append(f"{rate:,.1f} {self.unit}/s")
        if self.total and done < self.total:
            parts.append(f"ETA {clock((self.total - done) / rate)}" if rate > 0 else "ETA ?")
        else:
            parts.append(f"in {clock(elapsed)}")
        if self.extra:
            parts.append(self.extra(counts, elapsed))
        return ", ".join(p for p in parts if p)

    def _show(self, final: bool = False) -> None:
        text = self.line()
        if self.interactive:
            self.stream.write(f"\r{text}\x1b[K" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _redraw(self) -> None:
        shown = 0
        while not self._stop.wait(0.25 if self.interactive else self.every_s):
            done = self.counts["done"]
            if self.interactive or done != shown:  # a log gets a line only when something moved
                self._show()
                shown = done

    def __enter__(self) -> "Progress":
        progress = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                for raw in self.rfile:
                    try:
                        counts = json.loads(raw)
                        progress.add(**{k: float(v) for k, v in counts.items()})
                    except (ValueError, TypeError):
                        return  # not a reporter: hang up

        try:
            if self.serve:
                self._server = socketserver.ThreadingTCPServer((self._host, 0), Handler)
                self._server.daemon_threads = True
                threading.Thread(target=self._server.serve_forever, name="photolake-progress", daemon=True).start()
        except OSError:
            self._server = None  # no reports then: the line still shows the driver's own counts
        self._painter = threading.Thread(target=self._redraw, name="photolake-progress-line", daemon=True)
        self._painter.start()
        return self

    def finish(self, done: float, **counts: float) -> None:
        """The exact counts at the end: reports still in flight are dropped from now on."""
        with self._lock:
            self.counts.update(done=done, **counts)
            self._finished = True

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._painter.join()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        self._show(final=True)


class Reporter:
    """Counts on an executor, sent to the driver's Progress twice a second by a background thread."""

    def __init__(self, address: str):
        host, port = address.rsplit(":", 1)
        self._target = (host, int(port))
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}
        self._socket: socket.socket | None = None
        self._broken = False
        threading.Thread(target=self._send_loop, name="photolake-progress-report", daemon=True).start()

    def add(self, done: float = 1, **counts: float) -> None:
        with self._lock:
            self._pending["done"] = self._pending.get("done", 0) + done
            for name, value in counts.items():
                self._pending[name] = self._pending.get(name, 0) + value

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending or self._broken:
            return
        try:
            if self._socket is None:
                self._socket = socket.create_connection(self._target, timeout=2)
            self._socket.sendall(json.dumps(pending).encode() + b"\n")
        except OSError:
            self._broken = True  # the driver's progress is gone (or unreachable): stop trying

    def _send_loop(self) -> None:
        while not self._broken:
            time.sleep(SEND_EVERY_S)
            self.flush()


_REPORTERS: dict[str, Reporter] = {}
_REPORTERS_LOCK = threading.Lock()


def reporter(address: str | None) -> Reporter | None:
    """This Python worker's reporter to the Progress at ``address`` (one per address, reused by tasks)."""
    if not address:
        return None
    with _REPORTERS_LOCK:
        if address not in _REPORTERS:
            _REPORTERS[address] = Reporter(address)
        return _REPORTERS[address]


def driver_host(spark) -> str:
    """Where executors reach the driver: loopback in local mode, else the driver's advertised host."""
    master = spark.sparkContext.master
    if master.startswith("local"):
        return "127.0.0.1"
    return spark.conf.get("spark.driver.host", socket.gethostname())
