"""``gate serve`` in a subprocess on 127.0.0.1, over HTTPS with a test CA (trustme).

    >>> with ServedGate(tls, ["--metadata", "m.json"]) as gate:      # doctest: +SKIP
    ...     gate.post({"apiVersion": "admission.k8s.io/v1", ...})     # doctest: +SKIP

The process runs in a session of its own; ``stop()`` sends SIGTERM to that group (gunicorn's
graceful stop), then SIGKILL if it lingers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.conftest import REPO_ROOT


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    ca: Path


def make_tls(folder: Path, name: str = "gate") -> Tls:
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    tls = Tls(folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}-ca.pem")
    tls.cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(tls.key))
    ca.cert_pem.write_to_path(str(tls.ca))
    return tls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gate_argv() -> list[str]:
    script = Path(sys.executable).with_name("gate")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gate.cli"]


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (gunicorn's workers, for its arbiter)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def sockets(pid: int) -> int:
    """How many sockets the process has open."""
    folder = Path(f"/proc/{pid}/fd")
    count = 0
    for entry in folder.iterdir():
        try:
            count += os.readlink(entry).startswith("socket:")
        except OSError:  # closed while we looked
            continue
    return count


class ServedGate:
    def __init__(
        self,
        tls: Tls | None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        workers: int = 2,
        log: Path | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.tls, self.port = tls, free_port()
        self.argv = [
            *(command or [*gate_argv(), "serve"]),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
        ]
        if tls is not None:
            self.argv += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        else:
            self.argv += ["--insecure-http"]
        self.argv += list(args)
        self.env = {**os.environ, "GATE_LOG_LEVEL": "INFO", **dict(env or {})}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test CA
        self.session.verify = str(tls.ca) if tls else True

    @property
    def pid(self) -> int:
        """The ``gate serve`` process: gunicorn's arbiter, whose children are the workers."""
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServedGate:
        output = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gate serve exited with {self.process.returncode}: {self.tail()}"
                )
            try:
                if self.session.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gate serve not ready within {timeout} s: {self.tail()}")

    def post(self, body: Any, **kw: Any) -> requests.Response:
        return self.session.post(f"{self.url}/validate", json=body, timeout=30, **kw)

    def tail(self, lines: int = 40) -> str:
        if not self.log or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(25)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def __enter__(self) -> ServedGate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.session.close()  # first: gunicorn's graceful stop waits for open connections
        self.stop()
