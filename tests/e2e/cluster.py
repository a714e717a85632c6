"""A real Kubernetes control plane for the end-to-end tests: etcd and kube-apiserver.

What controller-runtime's envtest does, in Python: etcd and kube-apiserver on 127.0.0.1 on
free ports, each in a work folder of its own, with certificates and service-account keys
made for the run (:mod:`tests.e2e.pki`), the default admission plugins (so
``ValidatingAdmissionWebhook`` calls gate for real), RBAC with an admin client certificate
in ``system:masters``, and a kubeconfig for kubectl and the ``kubernetes`` Python client.
There is no controller manager or scheduler: Pods, Deployments and Jobs are stored objects
that nothing runs, which is all admission needs.

The binaries are the ones ``scripts/e2e-build.sh`` builds from the pinned Go modules in
``test/e2e`` into ``~/.cache/gate/e2e`` (:meth:`Binaries.find`). Each process runs in a
process group of its own and :meth:`Cluster.stop` ends the whole group (SIGTERM, then
SIGKILL), so nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from tests.e2e.pki import CertificateAuthority, KeyPair, service_account_keys

REPO_ROOT = Path(__file__).resolve().parents[2]
GO_MODULE = REPO_ROOT / "test" / "e2e"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# Proxy variables must not send loopback traffic anywhere: strip them from children.
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


class ClusterError(RuntimeError):
    """The control plane could not be started (the message carries the process log tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned_version(go_mod: Path, module: str) -> str:
    """The version that ``go_mod`` requires of ``module`` (a ``require M vX`` line)."""
    pattern = re.compile(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)\s*$", re.MULTILINE)
    found = pattern.search(go_mod.read_text())
    if not found:
        raise ClusterError(f"{go_mod} does not require {module}")
    return found.group(1)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Binaries:
    """kube-apiserver, kubectl and etcd, as built by ``scripts/e2e-build.sh``."""

    kube_apiserver: Path
    kubectl: Path
    etcd: Path

    @staticmethod
    def folders() -> tuple[Path, Path]:
        """Where the build script puts them: (Kubernetes folder, etcd folder)."""
        cache = Path(os.environ.get("GATE_E2E_CACHE") or Path.home() / ".cache/gate/e2e")
        k8s = pinned_version(GO_MODULE / "go.mod", "k8s.io/kubernetes")
        etcd = pinned_version(GO_MODULE / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3")
        return (
            Path(os.environ.get("GATE_E2E_KUBE_DIR") or cache / f"kubernetes-{k8s}"),
            Path(os.environ.get("GATE_E2E_ETCD_DIR") or cache / f"etcd-{etcd}"),
        )

    @classmethod
    def find(cls) -> Binaries | str:
        """The binaries, or why not (a sentence naming what is missing)."""
        kube_dir, etcd_dir = cls.folders()
        found = cls(kube_dir / "kube-apiserver", kube_dir / "kubectl", etcd_dir / "etcd")
        missing = [str(p) for p in (found.kube_apiserver, found.kubectl, found.etcd)]
        missing = [p for p in missing if not os.access(p, os.X_OK)]
        if missing:
            return f"{', '.join(missing)} not built (run scripts/e2e-build.sh)"
        return found


class Process:
    """One child process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_file: Path, **popen: Any) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = log_file.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=child_env(popen.pop("env", None)),
            **popen,
        )

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_file.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the whole group, SIGKILL after ``grace`` seconds; reap it."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        # Kill anything left in the group (the leader may be gone while children live on).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self._log.close()

    def failed(self, why: str) -> ClusterError:
        return ClusterError(
            f"{self.name}: {why}\n$ {' '.join(self.argv)}\n--- {self.log_file} ---\n"
            f"{self.log_tail()}"
        )


def _wait(process: Process, ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not process.running:
            raise process.failed(f"exited with {process.proc.returncode} before {what}")
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError, ssl.SSLError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise process.failed(f"not {what} within {timeout:.0f} s (last error: {last or 'none'})")


class Etcd:
    """A single-member etcd on 127.0.0.1 (plain HTTP, as envtest runs it), data in a tmp dir."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        self.process: Process | None = None

    def start(self, timeout: float = 30.0) -> Etcd:
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [
            str(self.binary),
            "--name=e2e",
            f"--data-dir={self.workdir / 'data'}",
            f"--listen-client-urls={self.url}",
            f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=e2e={peer}",
            "--unsafe-no-fsync",  # a throwaway store: no fsync, as envtest does
            "--log-level=warn",
        ]
        self.process = Process("etcd", argv, self.workdir / "etcd.log")

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return b'"health":"true"' in response.read()

        _wait(self.process, healthy, timeout, "healthy")
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()


class Cluster:
    """etcd + kube-apiserver, a kubeconfig, kubectl and the Python client bound to them.

    >>> cluster = Cluster(binaries, tmp_path).start()   # doctest: +SKIP
    >>> cluster.kubectl("get", "namespaces").stdout      # doctest: +SKIP
    """

    def __init__(
        self, binaries: Binaries, workdir: Path, apiserver_args: Sequence[str] = ()
    ) -> None:
        self.binaries = binaries
        self.workdir = workdir
        self.apiserver_args = tuple(apiserver_args)  # added to kube-apiserver's flags
        self.pki_dir = workdir / "pki"
        self.ca = CertificateAuthority(self.pki_dir, "kubernetes-ca")
        self.admin: KeyPair = self.ca.issue(
            "admin", "gate-e2e-admin", organization="system:masters", client=True
        )
        self.etcd: Etcd | None = None
        self.apiserver: Process | None = None
        self.port = 0
        self.kubeconfig = workdir / "kubeconfig"
        self._api_client: Any = None

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 120.0, attempts: int = 3) -> Cluster:
        try:
            self.etcd = Etcd(self.binaries.etcd, self.workdir / "etcd").start()
            for attempt in range(1, attempts + 1):
                try:
                    self._start_apiserver(timeout)
                    break
                except ClusterError as exc:
                    # A free port taken between choosing and binding: choose again.
                    if attempt == attempts or "address already in use" not in str(exc):
                        raise
                    self._stop_apiserver()
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_apiserver(self, timeout: float) -> None:
        cert_dir = self.workdir / "apiserver"
        # kube-apiserver serves <cert-dir>/apiserver.crt and .key when they exist, as envtest
        # arranges: signed by our CA, so the kubeconfig can verify them.
        self.ca.issue(
            "apiserver", "kube-apiserver", hosts=("127.0.0.1", "localhost"), folder=cert_dir
        )
        sa_private, sa_public = service_account_keys(self.pki_dir)
        self.port = free_port()
        assert self.etcd is not None
        argv = [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers={self.etcd.url}",
            f"--cert-dir={cert_dir}",
            f"--secure-port={self.port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # The endpoint reconciler refuses a loopback address; nothing needs the
            # endpoints of the `kubernetes` Service here.
            "--endpoint-reconciler-type=none",
            f"--client-ca-file={self.ca.cert_file}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={sa_public}",
            f"--service-account-signing-key-file={sa_private}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            "--profiling=false",
            *self.apiserver_args,
        ]
        self.apiserver = Process("kube-apiserver", argv, self.workdir / "kube-apiserver.log")

        def ready() -> bool:
            status, _ = self.get_raw("/readyz")
            return status == 200

        _wait(self.apiserver, ready, timeout, "ready (/readyz)")

    def _stop_apiserver(self) -> None:
        if self.apiserver:
            self.apiserver.stop()
            self.apiserver = None

    def stop(self) -> None:
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                self._api_client.close()
            self._api_client = None
        self._stop_apiserver()
        if self.etcd:
            self.etcd.stop()
            self.etcd = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca.cert_file))
        context.load_cert_chain(str(self.admin.cert_file), str(self.admin.key_file))
        return context

    def get_raw(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """GET ``path`` on the API server as the admin user: (status, body)."""
        request = urllib.request.Request(self.server + path)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context()) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "e2e",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self.ca.cert_file),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate": str(self.admin.cert_file),
                        "client-key": str(self.admin.key_file),
                    },
                }
            ],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
            "current-context": "e2e",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; raises with its output when ``check`` fails."""
        argv = [
            str(self.binaries.kubectl),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.workdir / 'kubectl-cache'}",
            *args,
        ]
        result = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env({"HOME": str(self.workdir)}),
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"$ kubectl {' '.join(args)}\nexit {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` for the kubeconfig (made once, closed at stop)."""
        if self._api_client is None:
            from kubernetes import config

            self._api_client = config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api_client

    def create_namespace(self, prefix: str = "e2e", labels: Mapping[str, str] | None = None) -> str:
        """A new namespace with its ``default`` ServiceAccount.

        No controller manager runs here, so nothing creates that ServiceAccount; the
        ServiceAccount admission plugin (on by default) refuses Pods without it.
        """
        from kubernetes import client

        name = f"{prefix}-{secrets.token_hex(3)}"
        core = client.CoreV1Api(self.api_client())
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=dict(labels or {})))
        )
        ensure_default_service_account(core, name)
        return name


def ensure_default_service_account(core: Any, namespace: str) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        core.create_namespaced_service_account(
            namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="default"))
        )
    except ApiException as exc:
        if exc.status != 409:
            raise
