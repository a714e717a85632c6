"""gate serves HTTP/1.1 only, as documented: hypercorn would switch a connection to HTTP/2
on the prior-knowledge preface or on ``Upgrade: h2c`` whatever ALPN chose, and its HTTP/2
keeps a connection through a stream's 408 and lets one connection hold or flood many
streams, past the limits of the HTTP/1.1 path. Real HTTPS, one worker."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.conftest import require_module
from tests.webhook.server import ServedGate, Tls, make_tls

require_module("trustme")

# The client preface of RFC 9113 3.4, then an empty SETTINGS frame.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
H2C_UPGRADE = (
    b"GET /healthz HTTP/1.1\r\nHost: gate\r\nConnection: Upgrade, HTTP2-Settings\r\n"
    b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGate]:
    folder = tmp_path_factory.mktemp("http-versions")
    tls: Tls = make_tls(folder)
    with ServedGate(tls, workers=1, log=folder / "gate.log") as served:
        yield served


def exchange(gate: ServedGate, data: bytes, alpn: list[str] | None = None) -> bytes:
    """What the server sends back for ``data`` until it closes, or for at most 5 s."""
    context = ssl.create_default_context(cafile=str(gate.tls.ca))
    if alpn:
        context.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as connection:
        connection.sendall(data)
        received = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except (TimeoutError, ssl.SSLError, OSError):
                break
            if not chunk:
                return received
            received += chunk
        return received + b"<still open>"


@pytest.mark.parametrize("alpn", [None, ["h2", "http/1.1"], ["h2"]])
def test_the_http2_preface_gets_505_and_a_closed_connection(
    gate: ServedGate, alpn: list[str] | None
) -> None:
    received = exchange(gate, PREFACE, alpn)
    assert received.startswith(b"HTTP/1.1 505 "), received[:200]
    assert b"HTTP/1.1 only" in received and received.endswith(b"}"), received[-200:]


def test_an_h2c_upgrade_is_answered_in_http1(gate: ServedGate) -> None:
    received = exchange(gate, H2C_UPGRADE + b"GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n")
    assert not received.startswith(b"HTTP/1.1 101"), received[:200]
    assert received.count(b"HTTP/1.1 200") == 2, received[:400]  # both answered in HTTP/1.1


def test_http1_still_works_on_the_same_server(gate: ServedGate) -> None:
    assert gate.session.get(f"{gate.url}/healthz", timeout=10).json() == {"status": "ok"}
