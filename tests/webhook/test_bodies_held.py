"""The request bodies a worker holds at once are limited (GATE_MAX_BODIES), not only each
one (GATE_MAX_BODY): before, 40 connections that each sent 16 MiB less a byte and stalled
took a worker to 777 MB (the Deployment allows 768 MiB for two), as the body limit and the
connection limit were never multiplied. A small body (a Pod's review) is always read."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest

from gate.config import Settings
from gate.errors import ConfigError
from gate.webhook.asgi import Message, post_scope
from gate.webhook.bridge import BODY_OVERHEAD, SMALL_BODY, SMALL_RESERVE, WsgiBridge
from gate.webhook.settings import WebhookSettings
from tests.conftest import require_module
from tests.webhook.reviews import COMPLIANT, review, workload
from tests.webhook.server import ServedGate, make_tls

require_module("trustme")

LARGE = SMALL_BODY + 30_000


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % len(environ["wsgi.input"].read())]


class Client:
    """One request to the bridge whose body comes in two parts: the first at once, the
    rest when ``finish`` is set."""

    def __init__(self, bridge: WsgiBridge, first: int, rest: int = 1) -> None:
        self.bridge, self.parts = bridge, [first, rest]
        self.finish = asyncio.Event()
        self.sent: list[Message] = []

    async def run(self) -> None:
        scope = post_scope("/", [])  # chunked: no length declared
        parts = list(self.parts)

        async def receive() -> Message:
            if len(parts) == 1:
                await self.finish.wait()
            if not parts:
                return {"type": "http.disconnect"}
            size = parts.pop(0)
            return {"type": "http.request", "body": b"x" * size, "more_body": bool(parts)}

        async def send(message: Message) -> None:
            self.sent.append(message)

        await self.bridge(scope, receive, send)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"]) if self.sent else 0


def test_bodies_past_the_limit_get_503_and_small_ones_have_a_reserve() -> None:
    charged = LARGE + BODY_OVERHEAD  # what a large body costs the worker while it is read
    bridge = WsgiBridge(
        echo, ThreadPoolExecutor(2), max_body=200_000, max_bodies=2 * charged + 10, body_timeout=10
    )

    async def scenario() -> None:
        stalled = [Client(bridge, LARGE) for _ in range(2)]
        tasks = [asyncio.create_task(c.run()) for c in stalled]
        await asyncio.sleep(0.1)
        assert bridge.held == 2 * charged
        refused = Client(bridge, LARGE)
        small = Client(bridge, SMALL_BODY - 1)
        small.finish.set()
        await asyncio.wait_for(asyncio.gather(refused.run(), small.run()), 5)
        assert refused.status == 503, refused.sent
        assert b"GATE_MAX_BODIES" in refused.sent[1]["body"]
        assert small.status == 200 and small.sent[1]["body"] == b"%d" % SMALL_BODY
        # small bodies that stall fill the reserve, and no more: the memory stays bounded
        fits = SMALL_RESERVE // (SMALL_BODY + BODY_OVERHEAD)
        smalls = [Client(bridge, SMALL_BODY) for _ in range(fits + 5)]
        small_tasks = [asyncio.create_task(c.run()) for c in smalls]
        await asyncio.sleep(0.2)
        assert sum(c.status == 503 for c in smalls) == 5
        assert bridge.held <= bridge.max_bodies + SMALL_RESERVE
        for client in smalls:
            client.finish.set()
        await asyncio.wait_for(asyncio.gather(*small_tasks), 5)
        for client in stalled:
            client.finish.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert [c.status for c in stalled] == [200, 200]
        assert bridge.held == 0  # every byte given back once answered

    asyncio.run(scenario())


def test_the_limit_holds_at_least_one_largest_body() -> None:
    with pytest.raises(ConfigError, match="GATE_MAX_BODIES"):
        WebhookSettings.from_env({"GATE_MAX_BODY": "2000000", "GATE_MAX_BODIES": "1000000"})
    assert Settings().webhook.max_bodies >= Settings().webhook.max_body


def stalled_body(port: int, context: ssl.SSLContext, size: int) -> ssl.SSLSocket:
    """A connection that declares ``size`` bytes of body, sends all but one, and waits."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection = context.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (
        f"POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    connection.sendall(head.encode() + b" " * (size - 1))
    return connection


def status_of(connection: ssl.SSLSocket, seconds: float) -> int:
    """The status of the answer on ``connection`` within ``seconds``; 0 for none."""
    connection.settimeout(seconds)
    try:
        line = connection.recv(64)
    except (TimeoutError, OSError):
        return 0
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else 0


@pytest.fixture
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGate]:
    folder = tmp_path_factory.mktemp("bodies")
    env = {"GATE_MAX_BODY": str(1 << 20), "GATE_MAX_BODIES": str(4 << 20)}
    with ServedGate(make_tls(folder), workers=1, env=env, log=folder / "gate.log") as served:
        yield served


def test_served_stalled_bodies_past_the_limit_are_refused(gate: ServedGate) -> None:
    context = ssl.create_default_context(cafile=str(gate.tls.ca))
    with ExitStack() as stack:
        stalled = []
        for _ in range(10):
            connection = stalled_body(gate.port, context, 1 << 20)
            stack.callback(connection.close)
            stalled.append(connection)
        time.sleep(1)  # well within GATE_BODY_TIMEOUT (5 s): none is cut for time yet
        reply = gate.session.post(
            f"{gate.url}/validate", data=json.dumps(review(workload("Pod", COMPLIANT))), timeout=10
        )
        assert reply.status_code == 200 and "response" in reply.json()  # a review still read
        statuses = [status_of(c, 0.5) for c in stalled]
    assert statuses.count(503) >= 6, statuses  # at most 4 bodies of 1 MiB held at once
    assert set(statuses) <= {0, 503}, statuses
