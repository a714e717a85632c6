"""From the asynchronous server to the Flask app: only complete requests reach a thread.

:class:`WsgiBridge` is the ASGI application ``gate serve``'s workers run (hypercorn parses
HTTP on an event loop). It reads a request's whole body on the loop, within a deadline
(``GATE_BODY_TIMEOUT``, counted from the end of the headers) and a size limit
(``GATE_MAX_BODY``, for a sized body and a chunked one alike), and only then calls the WSGI
app on its thread pool, so a client that stalls or floods holds no thread. The bodies held
at once, from their first byte to their answer, are limited too (``GATE_MAX_BODIES``, each
charged ``BODY_OVERHEAD`` for its buffers; small bodies have a reserve). A refused body
gets JSON ``{"error", "hint"}``, as every other error of the webhook: 413 (too large) or
503 (the limit of all bodies reached: the rest is read and dropped for at most
``DRAIN_SECONDS``, so that the client, still sending, reads the answer instead of a
reset), 408 (too slow); the connection is closed after each.

    >>> import asyncio
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from gate.webhook.asgi import call
    >>> def hello(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [environ["wsgi.input"].read()]
    >>> bridge = WsgiBridge(hello, ThreadPoolExecutor(1), max_body=4, body_timeout=1.0)
    >>> asyncio.run(call(bridge, b"abc"))[1]["body"]
    b'abc'
    >>> asyncio.run(call(bridge, b"abcdef"))[0]["status"]
    413
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from gate.webhook.asgi import ARRIVED, Message, Receive, Send, environ
from gate.webhook.connections import reading_body
from gate.webhook.errors import HINTS
from gate.webhook.settings import BODY_OVERHEAD

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Route = Callable[[str], bool]
DRAIN_SECONDS = 2.0
BODIES_PER_WORKER = 4  # GATE_MAX_BODIES by default: this many bodies of GATE_MAX_BODY at once
SMALL_BODY = 64 * 1024  # a body no larger may also use SMALL_RESERVE past the limit
SMALL_RESERVE = 16 * 1024 * 1024
HTTP_VERSIONS = ("1.0", "1.1")


class Refused(Exception):
    """A request answered by the bridge itself, with JSON ``{"error", "hint"}``."""

    def __init__(self, status: int, error: str, hint: str) -> None:
        super().__init__(error)
        self.status, self.error, self.hint = status, error, hint


class Disconnected(Exception):
    """The client went away before its body was complete."""


@dataclass
class Hold:
    """One request: when it arrived, the bytes of its body read, and what they are
    charged against the worker's limit."""

    arrived: float
    size: int = 0
    charged: int = 0


class WsgiBridge:
    """ASGI in front of a WSGI app: the body read on the loop, the app run on ``pool``.

    ``serves(path)`` says which paths this listener answers (the metrics listener only
    ``/metrics``); any other gets a JSON 404 without reaching the app.
    """

    def __init__(
        self,
        app: WsgiApp,
        pool: Executor,
        *,
        max_body: int,
        body_timeout: float,
        max_bodies: int = 0,
        serves: Route = lambda path: True,
    ) -> None:
        self.app, self.pool = app, pool
        self.max_body, self.body_timeout = max_body, body_timeout
        self.max_bodies = max_bodies or BODIES_PER_WORKER * max_body
        self.held = 0  # bodies held now (and their overhead), from first byte to answer
        self.serves = serves

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        hold = Hold(arrived=time.monotonic())
        try:
            await self._serve(scope, receive, send, hold)
        finally:
            self.held -= hold.charged

    async def _serve(self, scope: Message, receive: Receive, send: Send, hold: Hold) -> None:
        try:
            if scope.get("http_version") not in HTTP_VERSIONS:
                raise Refused(505, "gate serves HTTP/1.1 only", HINTS[505])
            if not self.serves(scope["path"]):
                raise Refused(404, "Not Found", "this port serves /metrics only, or all but it")
            body = await self._body(scope, receive, hold)
        except Refused as refused:
            await _answer(send, refused)
            if refused.status in (413, 503):
                await _drain(receive)
            return
        except Disconnected:
            return
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(
            self.pool, self._call, {**environ(scope, body), ARRIVED: hold.arrived}
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _body(self, scope: Message, receive: Receive, hold: Hold) -> bytes:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            raise self._too_large()
        if declared is not None and self._past_limit(declared, declared + BODY_OVERHEAD):
            raise self._full()
        try:
            with reading_body():
                async with asyncio.timeout(self.body_timeout):
                    return await self._chunks(receive, hold)
        except TimeoutError:
            raise Refused(
                408, f"the request body did not arrive within {self.body_timeout:g} s", HINTS[408]
            ) from None

    async def _chunks(self, receive: Receive, hold: Hold) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected()
            chunk = message.get("body", b"")
            if hold.size + len(chunk) > self.max_body:
                raise self._too_large()
            # a request without a body (a GET) has no body's buffers to charge
            charge = len(chunk) + (BODY_OVERHEAD if chunk and not hold.charged else 0)
            if self._past_limit(hold.size + len(chunk), charge):
                raise self._full()
            self.held += charge
            hold.charged += charge
            hold.size += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    def _too_large(self) -> Refused:
        return Refused(413, f"the request body is larger than {self.max_body} bytes", HINTS[413])

    def _past_limit(self, size: int, charge: int) -> bool:
        """Whether charging ``charge`` more for a body of ``size`` bytes would take the
        worker past ``max_bodies``; a small body (a Pod's review is a few KB) may also use
        ``SMALL_RESERVE``, so that large bodies filling the limit keep no review out."""
        reserve = SMALL_RESERVE if size <= SMALL_BODY else 0
        return self.held + charge > self.max_bodies + reserve

    def _full(self) -> Refused:
        error = f"gate holds {self.held} bytes of request bodies already, its limit is {self.max_bodies}"
        return Refused(503, error, HINTS[503])

    def _call(self, env: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The WSGI app on a pool thread: status, headers and the whole (small) body."""
        answer: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            answer[:] = [int(status.split(" ", 1)[0]), headers]
            return lambda data: None  # the legacy write(): gate's apps never call it

        result = self.app(env, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = answer
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return status, encoded, content


def _content_length(scope: Message) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, refused: Refused) -> None:
    content = json.dumps({"error": refused.error, "hint": refused.hint, "kind": "http"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    if refused.status != 404:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})


async def _drain(receive: Receive) -> None:
    """Read and drop what the client still sends, for a while: closing a socket with unread
    data resets the connection, and the client would lose the 413 it has not read yet."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body"):
                    return
