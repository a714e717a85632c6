"""ASGI to WSGI: the environ of a request read in full, and when it arrived.

:func:`environ` is the WSGI environ (PEP 3333) the bridge (:mod:`gate.webhook.bridge`)
hands the Flask app; :data:`ARRIVED` in it is when the request's headers were complete,
which :func:`arrival` reads for the time budget. :func:`post_scope` and :func:`call`
drive an ASGI app without a server, for examples and tests.

    >>> env = environ(post_scope("/validate", [(b"content-type", b"application/json")]), b"{}")
    >>> env["REQUEST_METHOD"], env["CONTENT_TYPE"], env["CONTENT_LENGTH"]
    ('POST', 'application/json', '2')
    >>> arrival({ARRIVED: 12.5})
    12.5
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ARRIVED = "gate.arrived"
"""The WSGI environ key of the ``time.monotonic()`` at which the request's headers were
complete: a review's time budget counts from there, its wait for a thread included."""


def arrival(env: Mapping[str, Any]) -> float:
    """When the request in ``env`` arrived (:data:`ARRIVED`), or now for one that did not
    come through the bridge (Flask's test client)."""
    arrived = env.get(ARRIVED)
    return arrived if isinstance(arrived, float) else time.monotonic()


def environ(scope: Message, body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP scope, with the body read in full."""
    server = scope.get("server") or ("localhost", 80)
    env: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        env["REMOTE_ADDR"] = str(scope["client"][0])
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is read: its length is below
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        env[key] = f"{env[key]},{value}" if key in env else value
    env["CONTENT_LENGTH"] = str(len(body))
    return env


def post_scope(path: str, headers: list[tuple[bytes, bytes]]) -> Message:
    """The ASGI scope of an HTTP/1.1 ``POST path`` with ``headers`` (for tests)."""
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "http_version": "1.1",
        "headers": headers,
    }


async def call(app: Callable[..., Awaitable[None]], body: bytes) -> list[Message]:
    """``POST /`` with ``body`` through an ASGI ``app``: the messages it sent (for doctests)."""
    scope = post_scope("/", [(b"content-length", b"%d" % len(body))])
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent
