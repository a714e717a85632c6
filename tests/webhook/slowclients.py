"""Hostile clients for the served webhook, on 127.0.0.1 only, bounded in count and time.

:class:`Attack` keeps ``headers`` connections that send half a request line and headers,
``bodies`` that send full headers announcing a body and then a few bytes of it, and ``idle``
keep-alive connections (one finished request, then silence), for ``seconds``; each one the
server closes is opened again, so the counts hold for the whole time. It records how long
the server let each connection live, by kind. The attack runs in a process of its own, so
its TLS handshakes do not hold the GIL of the client it is measured against.

    >>> attack = Attack(8443, "ca.pem", headers=1, bodies=0, idle=0, seconds=1)
    >>> attack.start().join()                             # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import ssl
import time
from collections import defaultdict
from typing import Any

HALF_HEADERS = b"POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\n"
BODY_HEADERS = (
    b"POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100000\r\n\r\n" + b'{"apiVersion": '
)
IDLE_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n"


class Attack:
    def __init__(
        self,
        port: int,
        cafile: str,
        *,
        headers: int,
        bodies: int,
        idle: int,
        seconds: float,
        ramp: float = 3.0,
    ) -> None:
        self.port, self.cafile = port, cafile
        self.plan = {"headers": headers, "bodies": bodies, "idle": idle}
        self.seconds, self.ramp = seconds, ramp
        self.lived: dict[str, list[float]] = {}  # seconds each closed connection lived, by kind
        self.opened: dict[str, int] = {}
        self.failed: dict[str, int] = {}  # could not connect
        spawn = multiprocessing.get_context("spawn")
        self.ready = spawn.Event()
        self._results, child = spawn.Pipe(duplex=False)
        self._process = spawn.Process(target=_attack, args=(self._args(), self.ready, child))

    def _args(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "cafile": self.cafile,
            "plan": self.plan,
            "seconds": self.seconds,
            "ramp": self.ramp,
        }

    def start(self) -> Attack:
        self._process.start()
        return self

    def join(self) -> None:
        if self._results.poll(self.seconds + 60):
            self.lived, self.opened, self.failed = self._results.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def counts(self) -> dict[str, int]:
        return dict(self.opened)


def _attack(args: dict[str, Any], ready: Any, results: Any) -> None:
    context = ssl.create_default_context(cafile=args["cafile"])
    held = _Holder(args["port"], context)
    asyncio.run(held.run(args["plan"], args["seconds"], args["ramp"], ready))
    results.send((dict(held.lived), dict(held.opened), dict(held.failed)))


class _Holder:
    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port, self.context = port, context
        self.lived: dict[str, list[float]] = defaultdict(list)
        self.opened: dict[str, int] = defaultdict(int)
        self.failed: dict[str, int] = defaultdict(int)

    async def run(self, plan: dict[str, int], seconds: float, ramp: float, ready: Any) -> None:
        end = time.monotonic() + seconds
        tasks = [
            asyncio.create_task(self._hold(kind, end, random.uniform(0, ramp)))
            for kind, count in plan.items()
            for _ in range(count)
        ]
        await asyncio.sleep(ramp)
        ready.set()
        await asyncio.gather(*tasks)

    async def _hold(self, kind: str, end: float, delay: float) -> None:
        await asyncio.sleep(delay)
        while time.monotonic() < end:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, ssl=self.context), 10
                )
            except (OSError, TimeoutError, ssl.SSLError):
                self.failed[kind] += 1
                await asyncio.sleep(0.5)
                continue
            self.opened[kind] += 1
            opened = time.monotonic()
            try:
                if kind == "idle":
                    writer.write(IDLE_REQUEST)
                    await reader.readuntil(b"}")  # the /healthz answer; then stay silent
                    opened = time.monotonic()
                else:
                    writer.write(HALF_HEADERS if kind == "headers" else BODY_HEADERS)
                closed = await _until_closed(reader, end)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
                closed = True
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 2)
            if closed:
                self.lived[kind].append(time.monotonic() - opened)


async def _until_closed(reader: asyncio.StreamReader, end: float) -> bool:
    """Read (and drop) until the server closes (True) or the attack ends (False)."""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        try:
            data = await asyncio.wait_for(reader.read(4096), left)
        except TimeoutError:
            return False
        if not data:
            return True
