"""The connections of a ``gate serve`` worker, capped: ``GATE_MAX_CONNECTIONS``.

Each connection notes since when it has waited for a request (idle keep-alive, or stalled
in its headers) and since when the bridge has waited for its request's body
(:func:`reading_body`). When the cap is reached, a new connection closes the one that has
waited longest for a request, or else the one that has waited longest for a body; only
when every connection has a whole request in flight is the new one refused. A connection
shed this way is aborted: it is waiting on its client, so no answer is lost, and a client
that never answers TLS's closing handshake keeps no socket. :mod:`gate.webhook.http1`
keeps every connection on HTTP/1.1, where these limits hold.

    >>> connections = Connections(limit=1000)
    >>> connections.make_room()  # below the cap: nothing to close
    True
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from operator import attrgetter
from typing import Any

from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData, Updated

log = logging.getLogger(__name__)
WARN_EVERY_SECONDS = 10.0


class Connection(TCPServer):
    """hypercorn's connection handler, noting since when it has waited for a request, or
    for the body of the request at hand."""

    def __init__(self, *args: Any, write_timeout: float = 5.0) -> None:
        super().__init__(*args)
        self.waiting_since: float | None = time.monotonic()
        self.reading_since: float | None = None
        self.write_timeout = write_timeout

    async def run(self) -> None:
        _current.set(self)  # the app's tasks start from this one, and see it
        try:
            await super().run()
        finally:
            self.release()

    async def _read_data(self) -> None:
        try:
            await super()._read_data()
        finally:
            # Nothing more will be read, so nothing is left to time out as idle. hypercorn
            # stops its idle timer only once its task group has ended, and the task group
            # waits for that timer: a connection its client had left, or that was dropped,
            # kept its socket and buffers until the keep-alive timeout.
            await self.idle_task.stop()

    async def _close(self) -> None:
        with suppress(TimeoutError):  # TLS's closing handshake unanswered: the socket goes
            await super()._close()

    async def _initiate_server_close(self) -> None:
        """hypercorn's idle timer closing the connection (or a shutdown closing an idle one).
        A request that came in as the timer fired is answered first: closed under it, its
        work went on with no way to send its answer (a keep-alive client that sent a review
        right at the timeout: 3 of 400 such reviews decided and never answered; an attest
        call made the attestation and its retry read "already attested")."""
        if self.waiting_since is None:  # a request is in flight: the timer restarts after it
            return
        await super()._initiate_server_close()

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated):
            self.waiting_since = time.monotonic() if event.idle else None
        elif isinstance(event, RawData):
            await self._write(event)
            return
        await super().protocol_send(event)

    async def _write(self, event: RawData) -> None:
        """Write with a deadline: a client that does not take its answers (a small receive
        window, requests pipelined and never read) would otherwise hold the connection, its
        buffers and its request's place in GATE_MAX_BODIES for as long as it likes, as no
        other timer runs while a request is in flight."""
        try:
            async with asyncio.timeout(self.write_timeout):
                await super().protocol_send(event)
        except TimeoutError:
            self.drop()
            await self.protocol.handle(Closed())

    def drop(self) -> None:
        """Close at once, without TLS's closing handshake: the connection is waiting on its
        client, so no answer is lost, and a client that never answers the handshake (an
        attacker holding connections) cannot keep the socket open after it is dropped."""
        self.writer.transport.abort()

    def release(self) -> None:
        """Drop what ties a finished connection into reference cycles (its protocol calls
        back into it, and so does its task group), so that its buffers go as soon as it
        ends. Python's cyclic collector would free them too, but its full collections are
        rare: 10 s after a flood of connections a worker still held 344 MB of them."""
        for name in ("protocol", "_task_group"):
            vars(self).pop(name, None)
        # A connection that ended in an error (reset, TLS close unanswered) keeps it in its
        # stream's close waiter; re-raised by wait_closed, its traceback holds the frames
        # that hold the stream: a cycle through the TLS buffers (a red-team run: 108 MB of
        # them 37 s after 900 connections were cut off in their headers).
        waiter = getattr(getattr(self.writer, "_protocol", None), "_closed", None)
        if isinstance(waiter, asyncio.Future) and waiter.done() and not waiter.cancelled():
            error = waiter.exception()
            if error is not None:
                error.__traceback__ = None


class Connections:
    """The open connections of a worker, capped at ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: set[Connection] = set()
        self._warned = 0.0

    def make_room(self) -> bool:
        """When full, close the connection waiting longest for a request, or else for a
        body; False when every one has a whole request in flight."""
        if len(self.open) < self.limit:
            return True
        self._warn()
        for since in (attrgetter("waiting_since"), attrgetter("reading_since")):
            waiting = [c for c in self.open if since(c) is not None]
            if waiting:
                oldest = min(waiting, key=since)
                self.open.discard(oldest)
                oldest.drop()
                return True
        return False

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_SECONDS:
            self._warned = now
            log.warning(
                "%d connections open in worker %d (GATE_MAX_CONNECTIONS): closing the one "
                "waiting longest for a request or its body",
                len(self.open),
                os.getpid(),
            )


_current: ContextVar[Connection | None] = ContextVar("gate_connection", default=None)


@contextmanager
def reading_body() -> Iterator[None]:
    """While the bridge reads a request's body, its connection counts as waiting on its
    client: past the cap it may be closed for a new one (a no-op outside a Connection)."""
    connection = _current.get()
    if connection is None:
        yield
        return
    connection.reading_since = time.monotonic()
    try:
        yield
    finally:
        connection.reading_since = None
