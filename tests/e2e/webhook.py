"""gate as a real validating webhook of the end-to-end cluster.

:class:`GateServer` runs ``gate serve`` (gunicorn, TLS from a certificate that the test CA
signs for 127.0.0.1) with the trial setting for local facts. :func:`webhook_configuration`
renders ``deploy/kubernetes`` with ``kubectl kustomize`` — the manifests the README deploys —
and keeps its ValidatingWebhookConfiguration as it is except for ``clientConfig``: the
in-cluster Service reference becomes ``url: https://127.0.0.1:PORT/validate`` with the test
CA as ``caBundle``. :class:`SlowProxy` sits between the API server and gate and holds each
connection longer than the webhook's ``timeoutSeconds``.

Issue 5 built ``gate serve`` and ``deploy/kubernetes``; :func:`webhook_pending` says what
of them is missing (the scenarios then skip, or fail with ``CI=true``). The flags ``gate serve`` takes are read from its ``--help``
(:func:`serve_argv`): the names below are the ones issue 5 promises, with the usual
spellings; a help text that has none of them fails the test with that text.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.cluster import REPO_ROOT, Cluster, Process, free_port
from tests.e2e.pki import CertificateAuthority, KeyPair

DEPLOY_DIR = REPO_ROOT / "deploy" / "kubernetes"

# Option spellings for `gate serve`, first match wins (see serve_argv).
BIND_FLAGS = ("--bind", "--listen", "--address")
CERT_FLAGS = ("--tls-cert-file", "--tls-cert", "--cert-file", "--certfile", "--cert")
KEY_FLAGS = ("--tls-key-file", "--tls-key", "--key-file", "--keyfile", "--key")
MODE_FLAGS = ("--mode", "--enforcement", "--enforcement-action", "--default-mode")
METADATA_FLAGS = ("--metadata",)
SCAN_FLAGS = ("--scan",)
DATA_FLAGS = ("--data",)


def gate_command() -> list[str]:
    """``gate`` from the same environment as the tests: its console script, else the module."""
    script = Path(sys.executable).with_name("gate")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gate.cli"]


def serve_help() -> tuple[int, str]:
    result = subprocess.run(
        [*gate_command(), "serve", "--help"], capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout + result.stderr


def webhook_pending() -> str | None:
    """What of issue 5 is still missing for these scenarios, or None when all is there."""
    missing = []
    if not (DEPLOY_DIR / "kustomization.yaml").is_file():
        missing.append(f"{DEPLOY_DIR.relative_to(REPO_ROOT)}/kustomization.yaml")
    code, _ = serve_help()
    if code != 0:
        missing.append("`gate serve`")
    if missing:
        return "pending issue 5 (admission webhook): no " + " and no ".join(missing)
    return None


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", help_text))


def _pick(options: set[str], candidates: Sequence[str], what: str, help_text: str) -> str:
    for flag in candidates:
        if flag in options:
            return flag
    raise AssertionError(
        f"`gate serve --help` names no {what} option (looked for {', '.join(candidates)}):\n"
        f"{help_text}"
    )


def serve_argv(
    help_text: str,
    *,
    port: int,
    tls: KeyPair,
    metadata: Path | None,
    scan: Path | None,
    mode: str | None = None,
    data: Path | None = None,
) -> list[str]:
    """The ``gate serve`` command line for these settings, in the flags its help names."""
    options = _options(help_text)
    argv = [*gate_command(), "serve"]
    if any(flag in options for flag in BIND_FLAGS) or "--port" not in options:
        argv += [_pick(options, BIND_FLAGS, "bind address", help_text), f"127.0.0.1:{port}"]
    else:
        argv += ["--host", "127.0.0.1", "--port", str(port)]
    argv += [_pick(options, CERT_FLAGS, "TLS certificate", help_text), str(tls.cert_file)]
    argv += [_pick(options, KEY_FLAGS, "TLS key", help_text), str(tls.key_file)]
    if metadata is not None:
        argv += [_pick(options, METADATA_FLAGS, "trial metadata", help_text), str(metadata)]
    if scan is not None:
        argv += [_pick(options, SCAN_FLAGS, "trial scan report", help_text), str(scan)]
    if mode is not None:
        argv += [_pick(options, MODE_FLAGS, "enforcement mode", help_text), mode]
    if data is not None:
        argv += [_pick(options, DATA_FLAGS, "policy data", help_text), str(data)]
    return argv


class GateServer:
    """``gate serve`` over TLS on 127.0.0.1; ``start()`` waits for ``/readyz``."""

    def __init__(
        self,
        workdir: Path,
        ca: CertificateAuthority,
        *,
        metadata: Path | None = None,
        scan: Path | None = None,
        mode: str | None = None,
        data: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.data = data
        self.ca = ca
        self.metadata = metadata
        self.scan = scan
        self.mode = mode
        self.env = dict(env or {})
        self.port = 0
        self.process: Process | None = None
        self.tls = ca.issue("gate", "gate", hosts=("127.0.0.1", "localhost"), folder=workdir)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> GateServer:
        code, help_text = serve_help()
        assert code == 0, help_text
        self.port = free_port()
        argv = serve_argv(
            help_text,
            port=self.port,
            tls=self.tls,
            metadata=self.metadata,
            scan=self.scan,
            mode=self.mode,
            data=self.data,
        )
        self.process = Process(
            f"gate serve ({self.mode or 'default mode'})",
            argv,
            self.workdir / f"gate-{self.port}.log",
            cwd=str(REPO_ROOT),
            env=self.env,
        )
        context = ssl.create_default_context(cafile=str(self.ca.cert_file))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.running:
                raise self.process.failed(f"exited with {self.process.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2, context=context) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise self.process.failed(f"/readyz not 200 within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None

    def log(self) -> str:
        return self.process.log_tail(200) if self.process else ""

    def decisions(self) -> list[dict[str, Any]]:
        """gate's decision log lines so far (JSON, logger ``gate.decision``), oldest first."""
        if self.process is None:
            return []
        self.process.log_tail(0)  # flush
        found = []
        for line in self.process.log_file.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("logger") == "gate.decision":
                found.append(entry)
        return found


class SlowProxy:
    """A TCP proxy on 127.0.0.1 that holds every connection ``delay`` seconds, then relays.

    TLS passes through untouched (the API server still verifies gate's certificate); the
    API server sees a webhook that answers later than its ``timeoutSeconds``.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.connections = 0

    def start(self) -> SlowProxy:
        self._thread.start()
        return self

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            if self._stopped.wait(self.delay):
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                return
            with upstream:
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(5)

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(5)


class HangingServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung registry)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> HangingServer:
        self._thread.start()
        return self

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()
        for conn in self._held:
            conn.close()

    @property
    def connections(self) -> int:
        return len(self._held)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    source.settimeout(30)
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def rendered_manifests(cluster: Cluster) -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/kubernetes``, as the README deploys it, parsed."""
    out = cluster.kubectl("kustomize", str(DEPLOY_DIR)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def webhook_configuration(
    manifests: Sequence[Mapping[str, Any]], port: int, ca_pem: bytes
) -> dict[str, Any]:
    """The manifests' ValidatingWebhookConfiguration, pointed at gate on 127.0.0.1:port."""
    found = [m for m in manifests if m.get("kind") == "ValidatingWebhookConfiguration"]
    assert len(found) == 1, f"expected one ValidatingWebhookConfiguration, found {len(found)}"
    config = copy.deepcopy(dict(found[0]))
    for key in ("resourceVersion", "uid", "creationTimestamp"):
        config["metadata"].pop(key, None)
    # cert-manager fills caBundle in a cluster; here the test CA does.
    config["metadata"].get("annotations", {}).pop("cert-manager.io/inject-ca-from", None)
    bundle = base64.b64encode(ca_pem).decode()
    for hook in config["webhooks"]:
        path = (hook.get("clientConfig", {}).get("service") or {}).get("path") or "/validate"
        hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": bundle}
    return config


def deployment_env(manifests: Sequence[Mapping[str, Any]], workdir: Path) -> dict[str, str]:
    """The ``GATE_*`` settings of the manifests' gate Deployment, for ``gate serve`` here.

    Literal values as they are; ``metadata.namespace`` references become the Deployment's
    namespace. Only what names this machine differs: the bind address and the TLS files
    (given as flags, which take precedence), the metrics port (a free one on 127.0.0.1)
    and the metrics folder.
    """
    found = [m for m in manifests if m.get("kind") == "Deployment"]
    assert len(found) == 1, f"expected one Deployment in deploy/kubernetes, found {len(found)}"
    deployment = found[0]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    gate = next((c for c in containers if c.get("command", [])[:2] == ["gate", "serve"]), None)
    assert gate is not None, "no container runs `gate serve` in the Deployment"
    env: dict[str, str] = {}
    for item in gate.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif (item.get("valueFrom", {}).get("fieldRef") or {}).get("fieldPath") == (
            "metadata.namespace"
        ):
            env[item["name"]] = deployment["metadata"]["namespace"]
    for name in ("GATE_BIND", "GATE_TLS_CERT", "GATE_TLS_KEY"):
        env.pop(name, None)
    if "GATE_METRICS_BIND" in env:
        env["GATE_METRICS_BIND"] = f"127.0.0.1:{free_port()}"
    if "GATE_METRICS_DIR" in env:
        env["GATE_METRICS_DIR"] = str(workdir / "metrics")
        (workdir / "metrics").mkdir(parents=True, exist_ok=True)
    return env


def gate_namespace(manifests: Sequence[Mapping[str, Any]]) -> str:
    """The namespace gate deploys into (its Namespace object in the manifests)."""
    names = [m["metadata"]["name"] for m in manifests if m.get("kind") == "Namespace"]
    assert names, "deploy/kubernetes has no Namespace"
    return str(names[0])


def apply(cluster: Cluster, documents: Sequence[Mapping[str, Any]]) -> None:
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=gate-e2e",
        "-f",
        "-",
        input=yaml.safe_dump_all(list(documents)),
    )


def register(cluster: Cluster, config: Mapping[str, Any]) -> None:
    """Create or replace the webhook configuration."""
    apply(cluster, [config])


def unregister(cluster: Cluster, config: Mapping[str, Any]) -> None:
    cluster.kubectl(
        "delete",
        "validatingwebhookconfiguration",
        config["metadata"]["name"],
        "--ignore-not-found",
        "--wait=true",
    )
