"""The download's HTTP plumbing on urllib3: connections that use only checked addresses, and a deadline on
each attempt that holds on every read.

urllib3's timeouts bound each socket operation, not a transfer: a server that sends one byte a second would
hold a thread for as long as it likes.  ``DEADLINES`` shuts an attempt's sockets down when its time is up,
which ends any read blocked on them at once.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from photolake.download.safety import AddressPolicy


class Attempt:
    """One attempt at an image: its deadline, its sockets, and whether the deadline cut it off."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.done = False

    def shut(self) -> None:
        for sock in self.sockets:
            if sock.fileno() != -1:  # -1: closed, or taken over by TLS (whose socket is attached too)
                _shut(sock)


class Deadlines:
    """A watchdog thread per process: at an attempt's deadline, its sockets are shut down."""

    def __init__(self):
        self._local = threading.local()
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def limit(self, seconds: float) -> Iterator[Attempt]:
        """The calling thread's requests inside the block end when ``seconds`` have passed."""
        attempt = Attempt(time.monotonic() + seconds)
        with self._lock:
            heapq.heappush(self._due, (attempt.deadline, next(self._order), attempt))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="photolake-deadlines", daemon=True)
                self._thread.start()
            self._lock.notify()
        self._local.attempt = attempt
        try:
            yield attempt
        finally:
            self._local.attempt = None
            with self._lock:  # after this the watchdog leaves the sockets alone: they may serve another attempt
                attempt.done = True

    def attach(self, sock: socket.socket | None) -> None:
        """A socket the current attempt uses: a new connection's (TLS-wrapped once its handshake is done),
        or a kept-alive one it takes from the pool.  The TLS handshake itself needs no watching: CPython
        bounds the whole of it by the socket's timeout."""
        attempt = getattr(self._local, "attempt", None)
        if attempt is None or sock is None:
            return
        with self._lock:
            attempt.sockets.append(sock)
            if attempt.expired:
                attempt.shut()

    def _watch(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][2].done or self._due[0][0] <= now):
                    _, _, attempt = heapq.heappop(self._due)
                    if not attempt.done:
                        attempt.expired = True
                        try:
                            attempt.shut()
                        except Exception:  # noqa: BLE001 - the watchdog must outlive any one socket
                            pass
                self._lock.wait(self._due[0][0] - now if self._due else None)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


DEADLINES = Deadlines()


class _CheckedConnection:
    """A connection that resolves its host through an ``AddressPolicy`` and connects only to the addresses it
    checked.  Through a proxy it connects to the proxy, which the environment names and so is trusted."""

    policy: AddressPolicy

    def _new_conn(self) -> socket.socket:
        if self.proxy is not None:
            sock = super()._new_conn()
        else:
            sock = self._connect_checked()
        DEADLINES.attach(sock)
        return sock

    def _connect_checked(self) -> socket.socket:
        try:
            addresses = self.policy.addresses(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError | None = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection((str(address), self.port), self.timeout,
                                                            source_address=self.source_address,
                                                            socket_options=self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} ({address}) timed out. "
                                                f"(connect timeout={self.timeout})") from exc
            except OSError as exc:
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")

    def connect(self) -> None:
        super().connect()
        DEADLINES.attach(self.sock)  # for TLS, the wrapped socket

    def request(self, *args, **kwargs):
        if self.sock is not None:  # kept alive: this attempt's deadline now covers it
            DEADLINES.attach(self.sock)
        return super().request(*args, **kwargs)


def pool_classes(policy: AddressPolicy) -> dict[str, type]:
    """urllib3 pool classes, by scheme, whose connections follow ``policy``."""
    http = type("CheckedHTTPConnection", (_CheckedConnection, HTTPConnection), {"policy": policy})
    https = type("CheckedHTTPSConnection", (_CheckedConnection, HTTPSConnection), {"policy": policy})
    return {"http": type("CheckedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("CheckedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


def checked_manager(manager: urllib3.PoolManager, policy: AddressPolicy) -> urllib3.PoolManager:
    """``manager`` (a PoolManager or ProxyManager) with its pools' connections following ``policy``."""
    manager.pool_classes_by_scheme = pool_classes(policy)
    return manager
