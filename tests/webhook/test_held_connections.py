"""Connections an attacker opens and then ignores: a TLS handshake, no request, and no
answer to TLS's closing handshake. The served webhook (real HTTPS, one worker) holds their
sockets no longer than its limits say: past GATE_MAX_CONNECTIONS an evicted connection's
socket goes at once, an idle one's goes GATE_HEADER_TIMEOUT after the server closed it
(asyncio's default wait for the closing handshake is 30 s), and a worker stops at once
however many of them are held (before, it waited out gunicorn's 20 s graceful timeout)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_module
from tests.webhook.server import ServedGate, Tls, child_pids, make_tls, sockets

require_module("trustme")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@contextmanager
def held(port: int, ca: Path, count: int) -> Iterator[list[ssl.SSLSocket]]:
    """``count`` connections through the TLS handshake, then silent until the end."""
    context = ssl.create_default_context(cafile=str(ca))
    connections = [
        context.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1"
        )
        for _ in range(count)
    ]
    try:
        yield connections
    finally:
        for connection in connections:
            connection.close()


@contextmanager
def one_worker(tls: Tls, tmp_path: Path, **env: str) -> Iterator[tuple[ServedGate, int]]:
    """gate serve with one worker and ``env``; the worker's sockets counted once the
    readiness check's connection has been closed on both sides."""
    with ServedGate(tls, workers=1, env=env, log=tmp_path / "gate.log") as gate:
        gate.session.close()
        (worker,) = child_pids(gate.pid)
        yield gate, worker


def settle(worker: int, at_most: int, seconds: float) -> int:
    """The worker's socket count once it is at most ``at_most``, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (count := sockets(worker)) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def test_connections_past_the_cap_hold_no_socket(tls: Tls, tmp_path: Path) -> None:
    env = {"GATE_MAX_CONNECTIONS": "10", "GATE_HEADER_TIMEOUT": "30"}
    with one_worker(tls, tmp_path, **env) as (gate, worker):
        at_rest = sockets(worker)
        with held(gate.port, tls.ca, 40):
            count = settle(worker, at_rest + 10, seconds=5)
            assert count <= at_rest + 10, f"{count} sockets for a cap of 10 ({at_rest} at rest)"
            reply = gate.session.get(f"{gate.url}/healthz", timeout=10)
            assert reply.json() == {"status": "ok"}
            started = time.monotonic()
            gate.stop()
            stopped = time.monotonic() - started
    assert stopped < 10, f"stopping took {stopped:.1f} s with idle connections held"


def test_an_idle_connection_frees_its_socket_at_the_deadline(tls: Tls, tmp_path: Path) -> None:
    with one_worker(tls, tmp_path, GATE_HEADER_TIMEOUT="1") as (gate, worker):
        time.sleep(3)  # the readiness check's connection: closed at 1 s idle, gone at 2 s
        at_rest = sockets(worker)
        with held(gate.port, tls.ca, 20):
            assert sockets(worker) >= at_rest + 15  # past the handshake: accepted
            # closed at 1 s idle, the closing handshake unanswered for 1 s more
            count = settle(worker, at_rest, seconds=8)
            assert count <= at_rest, f"{count} sockets 8 s after 20 idle connections ({at_rest})"


def test_connections_stalled_in_their_body_make_room_past_the_cap(tls: Tls, tmp_path: Path) -> None:
    """A connection whose body has not arrived is waiting on its client too: before, it
    counted as busy, and ten of them (sent again at each 408) kept every new connection,
    the API server's included, out of a worker capped at ten (a red-team run)."""
    env = {"GATE_MAX_CONNECTIONS": "10", "GATE_BODY_TIMEOUT": "30"}
    head = b"POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Length: 100\r\n\r\n{"
    with one_worker(tls, tmp_path, **env) as (gate, _), held(gate.port, tls.ca, 10) as stalled:
        for connection in stalled:
            connection.sendall(head)
        time.sleep(0.5)  # each one's headers read, its body awaited
        reply = gate.session.get(f"{gate.url}/healthz", timeout=10)  # a new connection
        assert reply.json() == {"status": "ok"}
        cut = 0
        for connection in stalled:
            connection.settimeout(0.2)
            try:
                cut += connection.recv(1) == b""
            except (TimeoutError, ssl.SSLError):
                continue
            except OSError:
                cut += 1
        assert cut == 1, f"{cut} stalled connections closed for one new one"
