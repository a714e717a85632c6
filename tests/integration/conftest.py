"""Real servers for the integration tests.

``opa_server`` is one plain-http OPA for the whole session (each xdist worker has its
own); ``opa_tls_server`` serves https with a certificate from a CA made here, and
``opa_token_server`` accepts one bearer token only. ``opa_factory`` starts private
servers for tests that stop or restart them. Every server is stopped at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require, require_tool
from tests.integration.opa_server import OpaServer, TlsFiles


@pytest.fixture(scope="session")
def opa_binary() -> str:
    return require_tool("opa", "GATE_OPA")


def _started(server: OpaServer) -> OpaServer:
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        require(False, f"cannot start OPA ({server.binary}): {exc}")
        raise AssertionError("unreachable") from exc


@pytest.fixture(scope="session")
def opa_server(opa_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaServer]:
    """A plain-http OPA on 127.0.0.1; yields the server (``.url`` is its URL)."""
    server = _started(OpaServer(opa_binary, tmp_path_factory.mktemp("opa")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def opa_url(opa_server: OpaServer) -> str:
    return opa_server.url


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA made for this run and a server certificate for 127.0.0.1 and localhost."""
    try:
        import trustme
    except ImportError:
        require(False, "trustme is not installed (pip install -r requirements-dev.txt)")
        raise
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(folder / "server.pem", folder / "server.key", folder / "ca.pem")
    files.cert_file.write_bytes(b"".join(pem.bytes() for pem in server_cert.cert_chain_pems))
    server_cert.private_key_pem.write_to_path(str(files.key_file))
    ca.cert_pem.write_to_path(str(files.ca_file))
    return files


@pytest.fixture(scope="session")
def opa_tls_server(
    opa_binary: str, tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpaServer]:
    """OPA over https; ``.ca_file`` verifies it."""
    server = _started(OpaServer(opa_binary, tmp_path_factory.mktemp("opa-tls"), tls=tls_files))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def opa_token_server(
    opa_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpaServer]:
    """OPA that answers only requests bearing ``.token`` (``/health`` excepted)."""
    server = OpaServer(
        opa_binary, tmp_path_factory.mktemp("opa-token"), token=secrets.token_urlsafe(24)
    )
    yield _started(server)
    server.stop()


@pytest.fixture
def opa_factory(opa_binary: str, tmp_path: Path) -> Iterator[Callable[..., OpaServer]]:
    """Start private OPA servers (``opa_factory(tls=..., token=...)``); all stopped after."""
    servers: list[OpaServer] = []

    def start(*, tls: TlsFiles | None = None, token: str = "") -> OpaServer:
        server = OpaServer(opa_binary, tmp_path / f"opa-{len(servers)}", tls=tls, token=token)
        servers.append(server)
        return _started(server)

    yield start
    for server in servers:
        server.stop()
