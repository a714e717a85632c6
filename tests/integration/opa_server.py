"""A real OPA server on 127.0.0.1 for tests and benchmarks.

``OpaServer`` runs ``opa run --server`` on a free loopback port, waits until ``/health``
answers 200 and stops the process (SIGTERM, then SIGKILL) when done. Options: TLS
(certificate and key files; the caller makes them) and bearer-token authentication
(``--authentication=token --authorization=basic`` with a small ``system.authz`` policy
that accepts one token, and ``/health`` without one).

It needs no pytest, so ``bench/eval.py`` uses it too.

    >>> server = OpaServer("/nonexistent/opa", Path("/tmp"))
    >>> server.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

AUTHZ_POLICY = """package system.authz

default allow := false

# Readiness probes need no token.
allow if input.path == ["health"]

allow if input.identity == {token}
"""


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path  # server certificate chain, PEM
    key_file: Path  # its private key, PEM
    ca_file: Path  # the CA that signed it, for clients


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpaServer:
    """One ``opa run --server`` process; ``start()``/``stop()`` or use it as a context."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        tls: TlsFiles | None = None,
        token: str = "",
        port: int | None = None,
        log_name: str = "opa.log",
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.tls = tls
        self.token = token
        self.port = port or free_port()
        self.log_file = workdir / log_name
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.tls.ca_file) if self.tls else ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        command = [
            self.binary,
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "error",
            "--shutdown-grace-period",
            "1",
            "--skip-version-check",  # no outbound call: tests reach only 127.0.0.1
        ]
        if self.tls:
            command += [
                "--tls-cert-file",
                str(self.tls.cert_file),
                "--tls-private-key-file",
                str(self.tls.key_file),
            ]
        if self.token:
            authz = self.workdir / f"authz-{self.port}.rego"
            authz.write_text(AUTHZ_POLICY.format(token=json.dumps(self.token)), encoding="utf-8")
            command += ["--authentication=token", "--authorization=basic", str(authz)]
        return command

    def start(self, timeout: float = 30.0) -> OpaServer:
        """Start OPA and wait for ``/health``; a taken port is retried on another one."""
        for attempt in range(3):
            self.workdir.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("ab") as log:
                self._process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            if self._wait_healthy(timeout):
                return self
            self.stop()
            if "address already in use" not in self.log_tail() or attempt == 2:
                break
            self.port = free_port()
        raise RuntimeError(f"OPA did not become healthy at {self.url}:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self, timeout: float = 30.0) -> OpaServer:
        """Stop and start again on the same port: OPA forgets everything pushed to it."""
        self.stop()
        return self.start(timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_healthy(self, timeout: float) -> bool:
        context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            url = f"{self.url}/health"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url, timeout=2, context=context) as response,
            ):
                if response.status == 200:
                    return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> OpaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
