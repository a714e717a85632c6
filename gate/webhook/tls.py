"""TLS for ``gate serve`` that follows certificate rotation without a restart.

:class:`ReloadingContext` keeps an SSL context for a certificate and key, rebuilt when either
file changes (cert-manager renewing the Secret, a kubelet swapping the mounted files), checked
at most once a second; a half-written pair that does not load keeps the previous context and
logs an error. :func:`serving_context` is the one context a server is given: during each
handshake its SNI callback (which OpenSSL calls whether or not the client sent a name) moves the
connection onto the current context, so any server that takes an ``SSLContext`` serves the
renewed certificate to every new connection.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ReloadingContext(f"{folder}/missing.crt", f"{folder}/missing.key")
    Traceback (most recent call last):
    FileNotFoundError: [Errno 2] No such file or directory
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time

log = logging.getLogger(__name__)
RELOAD_CHECK_SECONDS = 1.0


class ReloadingContext:
    """An SSL context for ``cert`` and ``key``, rebuilt when either file changes."""

    def __init__(self, cert: str, key: str) -> None:
        self.cert, self.key = cert, key
        self._lock = threading.Lock()
        self._stamp = self._files()
        self._context = self._build()
        self._checked = time.monotonic()

    def get(self) -> ssl.SSLContext:
        if time.monotonic() - self._checked < RELOAD_CHECK_SECONDS:
            return self._context
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._files()
            if stamp != self._stamp:
                try:
                    self._context = self._build()
                    self._stamp = stamp
                    log.warning("TLS certificate reloaded from %s", self.cert)
                except (OSError, ssl.SSLError) as exc:
                    log.error("TLS files changed but do not load (keeping the old ones): %s", exc)
        return self._context

    def _files(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in (self.cert, self.key):
            try:
                info = os.stat(path)
            except OSError:
                stamps.append((0, 0, 0))
                continue
            stamps.append((info.st_ino, info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def _build(self) -> ssl.SSLContext:
        return build_context(self.cert, self.key)


def build_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context: TLS 1.2 at least, no renegotiation, ALPN ``http/1.1`` only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # A TLS 1.2 client could otherwise ask for handshake after handshake on one connection,
    # each a signature for the server (with RSA, far costlier than the client's part):
    # OpenSSL 3 refuses that by default, OpenSSL 1.1.1 (a Python built against it) does not.
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(certfile=cert, keyfile=key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def serving_context(cert: str, key: str) -> ssl.SSLContext:
    """The context to give a server: each handshake switches to the current certificate."""
    reloading = ReloadingContext(cert, key)
    front = build_context(cert, key)

    def switch(
        connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext
    ) -> None:
        current = reloading.get()
        if current is not connection.context:
            connection.context = current

    front.sni_callback = switch
    return front
