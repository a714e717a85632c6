"""What a flood of connections leaves behind in a worker: its memory comes back once the
flood ends. A red-team run (900 clients each sending 64 KiB of a body, answered 503 or
stalled, then reconnecting, for 20 s) left a worker at 584-705 MB for good, past what the
Deployment allows two workers. Three things held it, each fixed and tested here:

- hypercorn kept a connection its client had left until its idle timer ran out
  (GATE_HEADER_TIMEOUT), buffers and all: ``Connection._read_data`` stops the timer;
- a finished connection's objects refer to each other, so only Python's rare full
  collections freed them: ``Connection.release`` breaks the cycles;
- glibc keeps freed heap resident: :class:`gate.webhook.heap.HeapTrimmer` gives it back.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path

from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.protocol.h11 import H11Protocol

from bench.admission import cpu_seconds, rss_mb
from gate.webhook.connections import Connection
from gate.webhook.heap import MIB, Glibc, HeapTrimmer
from tests.conftest import require_module
from tests.webhook.server import ServedGate, child_pids, make_tls, sockets

require_module("trustme")

BODY = 64 * 1024


async def flood(port: int, ca: Path, clients: int, waves: int) -> int:
    """``waves`` times, ``clients`` connections at once that each send 64 KiB of a body one
    byte longer, read what comes within 0.5 s (a 503 past GATE_MAX_BODIES) and leave."""
    context = ssl.create_default_context(cafile=str(ca))
    head = (
        "POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\n"
        f"Content-Length: {BODY + 1}\r\n\r\n"
    ).encode()

    async def one() -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        try:
            writer.write(head + b"x" * BODY)
            await writer.drain()
            try:
                return (await asyncio.wait_for(reader.read(64), 0.5)).startswith(b"HTTP/1.1 503")
            except TimeoutError:
                return False  # held: its client leaves in the middle of the body
        finally:
            writer.transport.abort()

    refused = 0
    for _ in range(waves):
        refused += sum(await asyncio.gather(*(one() for _ in range(clients))))
    return refused


def test_a_worker_gives_back_what_a_flood_of_connections_took(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    # the idle timer and the body deadline far past the test: what they held, they would
    # hold until its end
    env = {"GATE_HEADER_TIMEOUT": "30", "GATE_BODY_TIMEOUT": "30", "GATE_LOG_LEVEL": "INFO"}
    with ServedGate(tls, workers=1, env=env, log=tmp_path / "gate.log") as gate:
        (worker,) = child_pids(gate.pid)
        at_rest = rss_mb(worker)
        refused = asyncio.run(flood(gate.port, tls.ca, clients=300, waves=4))
        after_flood = rss_mb(worker)
        deadline = time.monotonic() + 10
        while (now := rss_mb(worker)) > at_rest + 60 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert gate.session.get(f"{gate.url}/healthz", timeout=10).json() == {"status": "ok"}
    assert refused > 0  # the flood went past GATE_MAX_BODIES, as an attacker's would
    assert now <= at_rest + 60, (
        f"worker at {now:.0f} MB 10 s after a flood of 1,200 connections "
        f"({at_rest:.0f} MB at rest, {after_flood:.0f} MB when it ended)\n{gate.tail()}"
    )


def cut_off(port: int, ca: Path, clients: int, hold: float) -> None:
    """``clients`` connections that each send a request with 15 KiB of headers, read its
    answer, send another cut off before the end of its headers, and close ``hold``
    seconds later, never answering TLS's closing handshake: the server has closed them
    for time meanwhile, and its wait for the client's close has run out."""
    context = ssl.create_default_context(cafile=str(ca))
    padding = "".join(f"X-Pad-{i}: {'a' * 480}\r\n" for i in range(32))
    request = f"GET /healthz HTTP/1.1\r\nHost: gate\r\n{padding}".encode()
    held = []
    try:
        for _ in range(clients):
            connection = context.wrap_socket(
                socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1"
            )
            held.append(connection)
            connection.sendall(request + b"\r\n")
            connection.recv(4096)
            connection.sendall(request)
        time.sleep(hold)
    finally:
        for connection in held:
            connection.close()


def test_connections_that_end_in_an_error_leave_no_cycles(tmp_path: Path) -> None:
    """A connection that ended in an error kept it in its stream's close waiter, with a
    traceback whose frames held the stream and its TLS buffers: a cycle that only a full
    collection frees (a red-team run: 108 MB above rest 37 s after 900 of them)."""
    tls = make_tls(tmp_path)
    env = {"GATE_HEADER_TIMEOUT": "1", "GATE_LOG_LEVEL": "ERROR"}
    with ServedGate(tls, workers=1, env=env) as gate:
        (worker,) = child_pids(gate.pid)
        at_rest = rss_mb(worker)
        cut_off(gate.port, tls.ca, 900, hold=4)
        deadline = time.monotonic() + 10
        while (now := rss_mb(worker)) > at_rest + 45 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert now <= at_rest + 45, f"{now:.0f} MB 10 s after 900 connections ({at_rest:.0f} at rest)"


def test_the_hypercorn_internals_gate_relies_on_are_there() -> None:
    """hypercorn is pinned (0.18.0); these are what gate's Connection overrides and clears."""
    assert Connection.__bases__ == (TCPServer,)
    assert callable(getattr(TCPServer, "_read_data", None)), "TCPServer._read_data is gone"
    assert "idle_task" in TCPServer.__init__.__code__.co_names, "TCPServer has no idle_task"
    run = set(TCPServer.run.__code__.co_names)
    assert {"protocol", "_task_group"} <= run, "TCPServer.run no longer sets these"
    assert callable(getattr(TCPServer, "_close", None)), "TCPServer._close is gone"
    idle = set(TCPServer._idle_timeout.__code__.co_names)
    assert "_initiate_server_close" in idle, "the idle timer no longer closes through it"
    for name in ("_send_h11_event", "_maybe_recycle", "_close_stream", "handle"):
        assert callable(getattr(H11Protocol, name, None)), f"H11Protocol.{name} is gone"
    assert "can_read" in H11Protocol.__init__.__code__.co_names
    assert "_closed" in asyncio.StreamReaderProtocol.__init__.__code__.co_names


FRAGMENTED = """
import json
from gate.webhook.heap import Glibc, HeapTrimmer, resident_bytes

big, kept, large, small = [], [], 100_000, 2_000  # sizes in names: no constant folding
for _ in range(640):  # 64 MB freed below blocks still in use: what glibc keeps
    big.append(b"x" * large)  # under glibc's mmap threshold: on the heap
    kept.append(b"k" * small)  # a small block in use after each large one
del big
trimmer = HeapTrimmer(Glibc.load(), every=1.0, over=16 << 20)
before = resident_bytes()
trimmed = trimmer.check()
print(json.dumps({
    "free": trimmed and trimmed.free, "before": before, "after": resident_bytes(),
    "again": trimmer.check() is not None,
}))
"""


def test_the_trimmer_gives_freed_heap_back_once() -> None:
    """In a process of its own: where a test process's earlier frees left holes, the small
    blocks would fill them instead of sitting between the large ones."""
    assert Glibc.load() is not None, "gate's image and CI run on glibc 2.33 or later"
    output = subprocess.run(
        [sys.executable, "-c", FRAGMENTED],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    result = json.loads(output)
    assert result["free"] is not None, f"not trimmed: {result}"
    assert result["free"] >= 48 * MIB, result
    assert result["before"] - result["after"] >= 32 * MIB, result
    assert not result["again"], result  # nothing new freed: not trimmed again


def test_the_trimmer_leaves_a_heap_with_little_free_alone() -> None:
    libc = Glibc.load()
    assert libc is not None
    assert HeapTrimmer(libc, every=1.0, over=1 << 40).check() is None


def pipelining(port: int, ca: Path, requests: int, receive_buffer: int = 0) -> ssl.SSLSocket:
    """A connection that pipelines ``requests`` GETs of /openapi.json (about 17 KB each to
    answer) and reads none of the answers; a small receive window when asked."""
    context = ssl.create_default_context(cafile=str(ca))
    raw = socket.socket()
    if receive_buffer:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)  # loopback's is 64 KiB
    raw.connect(("127.0.0.1", port))
    connection = context.wrap_socket(raw, server_hostname="127.0.0.1")
    connection.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: gate\r\n\r\n" * requests)
    return connection


def test_requests_pipelined_by_a_client_that_left_are_dropped(tmp_path: Path) -> None:
    """hypercorn went on to the next pipelined request after every failed write: 60 such
    clients took a worker from 128 MB to 1.1 GB and a whole core (a red-team run)."""
    tls = make_tls(tmp_path)
    with ServedGate(tls, workers=1, env={"GATE_LOG_LEVEL": "ERROR"}) as gate:
        (worker,) = child_pids(gate.pid)
        at_rest = rss_mb(worker)
        clients = [pipelining(gate.port, tls.ca, 990) for _ in range(20)]
        time.sleep(0.5)  # the server has read what they pipelined
        spent = cpu_seconds([worker])
        for client in clients:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset: every answer from now on fails
        time.sleep(5)
        spent, now = cpu_seconds([worker]) - spent, rss_mb(worker)
        assert gate.session.get(f"{gate.url}/healthz", timeout=10).json() == {"status": "ok"}
    assert now <= at_rest + 60, f"{now:.0f} MB 5 s after the clients left ({at_rest:.0f} at rest)"
    assert spent < 2.5, f"{spent:.1f} s of CPU in the 5 s after the clients left"


def test_a_client_that_does_not_take_its_answers_is_dropped(tmp_path: Path) -> None:
    """No timer ran while an answer was written: a client with a small receive window that
    pipelined requests and read nothing held its connection, and its request's share of
    GATE_MAX_BODIES, for as long as it liked (365 of them got every review answered 503)."""
    tls = make_tls(tmp_path)
    env = {"GATE_BODY_TIMEOUT": "1", "GATE_LOG_LEVEL": "ERROR"}
    with ServedGate(tls, workers=1, env=env) as gate:
        gate.session.close()
        (worker,) = child_pids(gate.pid)
        time.sleep(0.5)
        at_rest = sockets(worker)
        client = pipelining(gate.port, tls.ca, 100, receive_buffer=4096)
        try:
            time.sleep(0.5)
            assert sockets(worker) == at_rest + 1  # its answers are being written
            deadline = time.monotonic() + 6
            while sockets(worker) > at_rest and time.monotonic() < deadline:
                time.sleep(0.2)
            assert sockets(worker) == at_rest, "the connection was still open 6 s later"
        finally:
            client.close()
