"""hypercorn's HTTP/1.1 handler as gate serves it: HTTP/1.1 only, and nothing more served
on a connection once it is lost.

:func:`serve_http1_only` installs :class:`Http1Only` in each worker before it serves:

    >>> serve_http1_only()  # doctest: +SKIP
    >>> issubclass(Http1Only, H11Protocol)
    True
"""

from __future__ import annotations

from typing import Any

import h11
import hypercorn.protocol
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol.h11 import H11Protocol


class Http1Only(H11Protocol):
    """hypercorn's HTTP/1.1 handler, without its ways into HTTP/2.

    hypercorn switches a connection to HTTP/2 on the prior-knowledge preface
    (``PRI * HTTP/2.0``) and on ``Upgrade: h2c``, whatever ALPN chose. Its HTTP/2 keeps a
    connection through a stream's 408 and lets one connection stall or flood many streams,
    past every limit of the HTTP/1.1 path (docs/webhook.md, "Serving"). The upgrade is
    ignored here (a server may, RFC 9110 7.8) and the preface is an HTTP/2.0 request that
    the bridge refuses with 505.
    """

    lost = False  # the connection is over: nothing more is read from it or written to it

    async def _check_protocol(self, event: h11.Request) -> None:
        return None

    async def handle(self, event: Event) -> None:
        if isinstance(event, Closed):
            self.lost = True
        elif self.lost and isinstance(event, RawData):
            return  # bytes read as the connection closed: no answer could go back
        await super().handle(event)

    async def _send_h11_event(self, event: Any) -> None:
        if not self.lost:
            await super()._send_h11_event(event)

    async def _maybe_recycle(self) -> None:
        """Once the connection is lost, the requests its client pipelined are dropped, not
        served one after another: hypercorn went on to the next one after every failed
        write, so 60 clients that pipelined 990 requests each and then reset took a worker
        from 128 MB to 1.1 GB and a whole core (a red-team run)."""
        if not self.lost:
            await super()._maybe_recycle()
            return
        await self._close_stream()
        self.connection = h11.Connection(h11.SERVER)  # nothing buffered: reading stops
        await self.can_read.set()


def serve_http1_only() -> None:
    """Make hypercorn's connections in this process HTTP/1.1 only (see :class:`Http1Only`)."""
    hypercorn.protocol.H11Protocol = Http1Only  # type: ignore[attr-defined]
