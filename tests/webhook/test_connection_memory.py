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
import ssl
import subprocess
import sys
import time
from pathlib import Path

from hypercorn.asyncio.tcp_server import TCPServer

from gate.webhook.connections import Connection
from gate.webhook.heap import MIB, Glibc, HeapTrimmer
from tests.conftest import require_module
from tests.webhook.server import ServedGate, child_pids, make_tls

require_module("trustme")

BODY = 64 * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


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
        at_rest = rss_mib(worker)
        refused = asyncio.run(flood(gate.port, tls.ca, clients=300, waves=4))
        after_flood = rss_mib(worker)
        deadline = time.monotonic() + 10
        while (now := rss_mib(worker)) > at_rest + 60 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert gate.session.get(f"{gate.url}/healthz", timeout=10).json() == {"status": "ok"}
    assert refused > 0  # the flood went past GATE_MAX_BODIES, as an attacker's would
    assert now <= at_rest + 60, (
        f"worker at {now:.0f} MB 10 s after a flood of 1,200 connections "
        f"({at_rest:.0f} MB at rest, {after_flood:.0f} MB when it ended)\n{gate.tail()}"
    )


def test_the_hypercorn_internals_gate_relies_on_are_there() -> None:
    """hypercorn is pinned (0.18.0); these are what gate's Connection overrides and clears."""
    assert Connection.__bases__ == (TCPServer,)
    assert callable(getattr(TCPServer, "_read_data", None)), "TCPServer._read_data is gone"
    assert "idle_task" in TCPServer.__init__.__code__.co_names, "TCPServer has no idle_task"
    run = set(TCPServer.run.__code__.co_names)
    assert {"protocol", "_task_group"} <= run, "TCPServer.run no longer sets these"


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
