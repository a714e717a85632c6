"""Debian's ``docker-registry`` (Distribution 2.8) on 127.0.0.1 for tests and benchmarks.

:class:`RegistryServer` writes a config file into a work folder, serves from a free
loopback port with storage in that folder, and keeps the access log (one line per
request) so tests can count what reached the registry. Auth modes: none, htpasswd
(bcrypt), and token (a :class:`TokenIssuer` in a thread signs RS256 JWTs that the
registry trusts through its ``rootcertbundle``). Never started as a system service.

    >>> server = RegistryServer("/nonexistent/docker-registry", Path("/tmp"))
    >>> server.host.startswith("127.0.0.1:")
    True
"""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.integration.token_issuer import TokenIssuer

_LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d+)')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def htpasswd_line(tool: str, user: str, password: str) -> str:
    """A bcrypt htpasswd entry made by ``htpasswd -nbB`` (apache2-utils)."""
    out = subprocess.run([tool, "-nbB", user, password], check=True, capture_output=True)
    return out.stdout.decode().strip()


class RegistryServer:
    """One ``docker-registry serve`` process; ``start()``/``stop()`` or use it as a context."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        htpasswd: str = "htpasswd",
        issuer: TokenIssuer | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.users = users or {}
        self.htpasswd_tool = htpasswd
        self.issuer = issuer
        self.port = free_port()
        self.access_log = workdir / "access.log"
        self.error_log = workdir / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log: {level: warn, accesslog: {disabled: false}}",
            f"storage: {{filesystem: {{rootdirectory: {self.workdir / 'data'}}}, "
            "delete: {enabled: true}}",
            f"http: {{addr: '{self.host}', secret: {secrets.token_hex(16)}}}",
        ]
        if self.issuer is not None:
            lines.append(
                f"auth: {{token: {{realm: '{self.issuer.url}/token', "
                f"service: {self.issuer.service}, issuer: {self.issuer.issuer}, "
                f"rootcertbundle: {self.issuer.cert_file}}}}}"
            )
        elif self.users:
            htpasswd = self.workdir / "htpasswd"
            entries = [htpasswd_line(self.htpasswd_tool, u, p) for u, p in self.users.items()]
            htpasswd.write_text("".join(entry + "\n" for entry in entries))
            lines.append(f"auth: {{htpasswd: {{realm: gate-test, path: {htpasswd}}}}}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 15.0) -> RegistryServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(self._config())
        with self.access_log.open("wb") as out, self.error_log.open("wb") as err:
            self._process = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=out, stderr=err, cwd=self.workdir
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.error_log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url} in {timeout}s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None

    def settle(self, quiet: float = 0.2, timeout: float = 5.0) -> None:
        """Wait until the access log has not grown for ``quiet`` seconds (lines land late)."""
        end = time.monotonic() + timeout
        size = -1
        while time.monotonic() < end:
            current = self.access_log.stat().st_size
            if current == size:
                return
            size = current
            time.sleep(quiet)

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the registry has logged so far."""
        text = self.access_log.read_text(errors="replace")
        return [(m["method"], m["path"], int(m["status"])) for m in _LOG_LINE.finditer(text)]

    def count(self, method: str, path: str, status: int | None = 200) -> int:
        """How many logged requests had this method and path (and status, unless None)."""
        with contextlib.suppress(FileNotFoundError):
            return sum(
                1
                for m, p, s in self.requests()
                if m == method and p == path and (status is None or s == status)
            )
        return 0

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
