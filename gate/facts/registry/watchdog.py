"""A per-thread deadline watchdog for ``requests``: sockets are shut down when time runs out.

Socket timeouts bound each ``recv``, not a whole request: a server that trickles one
byte per second never trips them. :func:`new_session` returns a session whose
connections register their socket with the calling thread's current :func:`watch`;
when the watch's deadline passes, a timer shuts those sockets down, and the blocked
read fails at once.

    >>> import time
    >>> session = new_session()
    >>> with watch(time.monotonic() + 5) as current:
    ...     current.fired
    False
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

_local = threading.local()


class _Watch:
    def __init__(self, expires_at: float) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(max(0.0, expires_at - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    @property
    def fired(self) -> bool:
        """Whether the deadline passed and the sockets were shut down."""
        with self._lock:
            return self._fired

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _register(sock: socket.socket | None) -> None:
    current: _Watch | None = getattr(_local, "watch", None)
    if current is not None:
        current.add(sock)


@contextlib.contextmanager
def watch(expires_at: float) -> Iterator[_Watch]:
    """Within this block, this thread's registry sockets die at ``expires_at`` (monotonic)."""
    previous = getattr(_local, "watch", None)
    current = _Watch(expires_at)
    _local.watch = current
    try:
        yield current
    finally:
        current.cancel()
        _local.watch = previous


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)  # a kept-alive connection: already connected
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def new_session(pool_size: int = 32) -> requests.Session:
    """A session whose connections obey the calling thread's :func:`watch`."""
    session = requests.Session()
    adapter = _WatchedAdapter(pool_connections=8, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
