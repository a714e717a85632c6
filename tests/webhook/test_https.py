"""The served webhook: ``gate serve`` (gunicorn, two threaded workers) over real HTTPS with a
test CA, answering the shared fixtures and generated reviews for every kind; malformed
reviews (hypothesis); a registry that hangs; certificate rotation; plain HTTP on request."""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from gate.webhook.tls import build_context
from tests.conftest import require_module, require_tool
from tests.webhook.reviews import (
    COMPLIANT,
    KINDS,
    TAG_ONLY,
    fixture_reviews,
    review,
    with_image,
    workload,
)
from tests.webhook.server import ServedGate, Tls, free_port, gate_argv, make_tls
from tests.webhook.test_review import JSON, check_reply, mutated

require_module("trustme")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def served(
    tls: Tls, compliant_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedGate]:
    metadata, scan = compliant_files
    log = tmp_path_factory.mktemp("serve") / "gate.log"
    with ServedGate(tls, ["--metadata", str(metadata), "--scan", str(scan)], log=log) as gate:
        yield gate


def test_fixtures_over_https(served: ServedGate, fixtures_dir: Path) -> None:
    for name, body in fixture_reviews(fixtures_dir / "admission").items():
        reply = served.post(body)
        assert reply.status_code == 200, (name, reply.text)
        response = reply.json()["response"]
        assert response["uid"] == body["request"]["uid"] and response["allowed"] is False, name
        fixed = served.post(with_image(body, COMPLIANT)).json()["response"]
        assert fixed["allowed"] is ("run-as-root" not in name), (name, fixed)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_over_https(served: ServedGate, kind: str) -> None:
    denied = served.post(review(workload(kind, TAG_ONLY))).json()["response"]
    assert denied["allowed"] is False and "GATE-REF-001" in denied["status"]["message"]
    admitted = served.post(review(workload(kind, COMPLIANT))).json()["response"]
    assert admitted["allowed"] is True, admitted


def test_v1beta1_over_https(served: ServedGate) -> None:
    reply = served.post(review(workload("Pod", TAG_ONLY), version="admission.k8s.io/v1beta1"))
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1beta1"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=mutated() | JSON)
def test_malformed_reviews_over_https(served: ServedGate, body: Any) -> None:
    reply = served.session.post(f"{served.url}/validate", data=json.dumps(body), timeout=30)
    check_reply(reply.status_code, reply.json(), body)


def test_metrics_sum_the_workers_and_probes_answer(served: ServedGate, tls: Tls) -> None:
    for _ in range(6):  # new connections: both workers get some
        requests.post(
            f"{served.url}/validate",
            json=review(workload("Pod", TAG_ONLY)),
            verify=str(tls.ca),
            timeout=30,
        )
    text = served.session.get(f"{served.url}/metrics", timeout=10).text
    denied = [
        line
        for line in text.splitlines()
        if line.startswith("gate_admission_reviews_total") and 'result="denied"' in line
    ]
    assert sum(float(line.split()[-1]) for line in denied) >= 6
    assert served.session.get(f"{served.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_each_worker_freezes_the_app_it_loaded(served: ServedGate) -> None:
    """Both workers keep the app they loaded out of the collector's full passes before
    they serve (gate.webhook.worker.freeze_startup_objects), and say so in the log."""
    assert served.log is not None
    deadline = time.monotonic() + 30  # the second worker may still be loading
    while True:
        frozen = [
            json.loads(line)["message"]
            for line in served.log.read_text().splitlines()
            if "objects of the loaded app frozen" in line
        ]
        if len(frozen) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(frozen) == 2, served.tail()
    assert all(int(message.split(": ")[1].split()[0]) > 20_000 for message in frozen), frozen


def test_an_untrusted_client_cannot_connect(served: ServedGate) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{served.url}/healthz", timeout=10)


def test_a_client_cannot_renegotiate(served: ServedGate, tls: Tls) -> None:
    """A TLS 1.2 client asking for a new handshake on its connection (with an RSA key, each
    costs the server far more than the client) gets a no_renegotiation alert; gate serves on."""
    assert build_context(str(tls.cert), str(tls.key)).options & ssl.OP_NO_RENEGOTIATION
    command = [require_tool("openssl"), "s_client", "-tls1_2", "-CAfile", str(tls.ca)]
    with subprocess.Popen(
        [*command, "-connect", f"127.0.0.1:{served.port}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as client:
        assert client.stdin is not None and client.stdout is not None
        handshake = _read_until(client.stdout, "Verify return code")
        client.stdin.write(b"R\n")  # s_client's "renegotiate" command; stdin stays open
        client.stdin.flush()
        renegotiation = _read_until(client.stdout, "no renegotiation")
        client.kill()
    assert "RENEGOTIATING" in renegotiation, handshake + renegotiation
    assert "no renegotiation" in renegotiation, renegotiation
    answer = requests.get(f"{served.url}/healthz", verify=str(tls.ca), timeout=10)
    assert answer.status_code == 200


def _read_until(stream: IO[bytes], text: str, timeout: float = 30.0) -> str:
    """What a process prints until ``text``, its end, or ``timeout``."""
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        if not select.select([stream], [], [], deadline - time.monotonic())[0]:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        seen += chunk.decode(errors="replace")
    return seen


class HangingRegistry:
    """Accepts TCP connections on 127.0.0.1 and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_a_hanging_registry_is_denied_within_the_budget(tls: Tls, tmp_path: Path) -> None:
    registry = HangingRegistry()
    host = f"127.0.0.1:{registry.port}"
    data = tmp_path / "approve-local.json"
    data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": [f"{host}/**"]}}}}))
    env = {"GATE_INSECURE_REGISTRIES": host, "GATE_SCAN_SOURCE": "none"}
    budget = 1.5
    image = f"{host}/apps/api@sha256:" + "5" * 64
    try:
        with ServedGate(
            tls, ["--budget", str(budget), "--data", str(data)], env=env, log=tmp_path / "gate.log"
        ) as gate:
            started = time.monotonic()
            response = gate.post(review(workload("Pod", image))).json()["response"]
            elapsed = time.monotonic() - started
    finally:
        registry.close()
    assert response["allowed"] is False, response
    message = response["status"]["message"]
    assert any(word in message for word in ("time budget", "deadline", "timed out")), message
    assert registry.held, "gate never contacted the registry"
    assert elapsed <= budget + 0.5, elapsed


def test_a_rotated_certificate_is_served_without_a_restart(
    tmp_path: Path, compliant_files: tuple[Path, Path]
) -> None:
    first = make_tls(tmp_path, "first")
    second = make_tls(tmp_path, "second")
    live = Tls(tmp_path / "live.crt", tmp_path / "live.key", first.ca)
    live.cert.write_bytes(first.cert.read_bytes())
    live.key.write_bytes(first.key.read_bytes())
    with ServedGate(live, workers=1, log=tmp_path / "gate.log") as gate:
        assert issuer(gate.port, first.ca)
        live.key.write_bytes(second.key.read_bytes())  # as a kubelet swaps a Secret's files
        live.cert.write_bytes(second.cert.read_bytes())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not issuer(gate.port, second.ca):
            time.sleep(0.3)
        assert issuer(gate.port, second.ca), gate.tail()
        assert requests.get(f"{gate.url}/healthz", verify=str(second.ca), timeout=10).ok


def issuer(port: int, ca: Path) -> bool:
    """True when a TLS connection to ``port`` verifies against ``ca``."""
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            return True
    except ssl.SSLError:
        return False


def test_plain_http_only_when_asked(tmp_path: Path) -> None:
    import subprocess

    port = free_port()
    refused = subprocess.run(
        [*gate_argv(), "serve", "--bind", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "needs a TLS certificate" in refused.stderr
    assert "--insecure-http" in refused.stderr
    with ServedGate(None, workers=1, log=tmp_path / "gate.log") as gate:
        response = gate.post(review(workload("Pod", TAG_ONLY))).json()["response"]
        assert response["allowed"] is False


def test_metrics_on_a_port_of_their_own(tls: Tls, tmp_path: Path) -> None:
    """GATE_METRICS_BIND: /metrics over plain HTTP there, and nowhere else; nothing else there."""
    port = free_port()
    env = {"GATE_METRICS_BIND": f"127.0.0.1:{port}"}
    with ServedGate(tls, env=env, log=tmp_path / "gate.log") as gate:
        for _ in range(4):
            gate.post(review(workload("Pod", TAG_ONLY)))
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert metrics.ok and "gate_admission_reviews_total" in metrics.text
        denied = [
            line
            for line in metrics.text.splitlines()
            if line.startswith("gate_admission_reviews_total") and 'result="denied"' in line
        ]
        assert sum(float(line.split()[-1]) for line in denied) >= 4
        elsewhere = requests.post(f"http://127.0.0.1:{port}/validate", json={}, timeout=10)
        assert elsewhere.status_code == 404 and "hint" in elsewhere.json()
        assert gate.session.get(f"{gate.url}/metrics", timeout=10).status_code == 404


def test_the_temporary_metrics_folder_goes_with_the_server(tmp_path: Path) -> None:
    """Without GATE_METRICS_DIR, serve makes a folder for the workers' metrics; a stop removes it.

    gunicorn's workers leave through the same frames when they exit: only the arbiter removes it.
    """
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with ServedGate(None, env={"TMPDIR": str(temporary)}, log=tmp_path / "gate.log") as gate:
        gate.post(review(workload("Pod", TAG_ONLY)))
        (folder,) = temporary.glob("gate-metrics-*")
        assert any(folder.glob("*.db"))
        gate.session.get(f"{gate.url}/metrics", timeout=10)
    assert not any(temporary.glob("gate-metrics-*")), gate.tail()
