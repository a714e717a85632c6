"""Artifact Analysis failures and transport settings, through the real Grafeas client.

Server errors become :class:`ScanError` with a hint; UNAVAILABLE is retried within the
RPC timeout; TLS is the default and plaintext happens only when asked for; the test
server's CreateOccurrence/GetOccurrence (for attestations) work through the client.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.api_core import exceptions as gexc
from grafeas.grafeas_v1 import (
    AttestationOccurrence,
    DiscoveryOccurrence,
    GrafeasClient,
    NoteKind,
    Occurrence,
    Severity,
    Signature,
)
from grafeas.grafeas_v1.services.grafeas.transports import GrafeasGrpcTransport

from gate.facts.google import GoogleEndpoint
from gate.facts.scans.artifact_analysis import ArtifactAnalysis, ArtifactAnalysisSettings
from gate.facts.scans.interface import ScanError
from tests.integration.grafeas_server import (
    GoogleApiServer,
    GrafeasServicer,
    discovery_occurrence,
    vulnerability_occurrence,
)

pytestmark = pytest.mark.integration

PROJECT = "acme-prod"
IMAGE = f"us-docker.pkg.dev/{PROJECT}/apps/api@sha256:" + "ef" * 32
Code = grpc.StatusCode


@pytest.fixture
def api() -> Iterator[tuple[GoogleApiServer, GrafeasServicer]]:
    with GoogleApiServer() as server:
        grafeas = server.add(GrafeasServicer())
        server.start()
        yield server, grafeas


def analysis(endpoint: GoogleEndpoint, **settings: Any) -> ArtifactAnalysis:
    return ArtifactAnalysis(ArtifactAnalysisSettings(endpoint=endpoint, **settings))


@pytest.mark.parametrize(
    ("code", "reason", "hint"),
    [
        (Code.PERMISSION_DENIED, "", "grant the caller roles/containeranalysis.occurrences.viewer"),
        (
            Code.PERMISSION_DENIED,
            "SERVICE_DISABLED",
            "gcloud services enable containeranalysis.googleapis.com --project acme-prod",
        ),
        (Code.NOT_FOUND, "", "check the project (acme-prod)"),
        (Code.UNAUTHENTICATED, "", "gcloud auth application-default login"),
        (Code.RESOURCE_EXHAUSTED, "", "quota"),
        (Code.INVALID_ARGUMENT, "", "malformed"),
    ],
)
def test_rpc_errors_have_hints(api: Any, code: Code, reason: str, hint: str) -> None:
    server, grafeas = api
    grafeas.fail("ListOccurrences", code, "computer says no", reason=reason)
    with pytest.raises(ScanError) as caught:
        analysis(server.endpoint).scan(IMAGE)
    assert code.name in caught.value.message and "computer says no" in caught.value.message
    assert f"projects/{PROJECT}" in caught.value.message
    assert hint in caught.value.hint
    assert isinstance(caught.value.__cause__, gexc.GoogleAPICallError)


def test_unavailable_is_retried_then_reported(api: Any) -> None:
    server, grafeas = api
    grafeas.fail("ListOccurrences", Code.UNAVAILABLE, "restarting", times=2)
    assert analysis(server.endpoint, rpc_timeout=5).scan(IMAGE).status == "MISSING"
    assert len(grafeas.called("ListOccurrences")) == 3
    grafeas.fail("ListOccurrences", Code.UNAVAILABLE, "down", times=1000)
    with pytest.raises(ScanError) as caught:
        analysis(server.endpoint, rpc_timeout=0.5).scan(IMAGE)
    assert "UNAVAILABLE" in caught.value.message and "check the network" in caught.value.hint


def test_slow_server_is_deadline_exceeded(api: Any) -> None:
    server, grafeas = api
    grafeas.fail("ListOccurrences", None, delay=1.0)
    with pytest.raises(ScanError) as caught:
        analysis(server.endpoint, rpc_timeout=0.2).scan(IMAGE)
    assert "DEADLINE_EXCEEDED" in caught.value.message and "RPC timeout" in caught.value.hint


def test_failure_on_a_later_page_loses_no_silent_findings(api: Any) -> None:
    server, grafeas = api
    resource = f"https://{IMAGE}"
    grafeas.put(
        PROJECT, discovery_occurrence(resource, DiscoveryOccurrence.AnalysisStatus.COMPLETE)
    )
    for n in range(5):
        grafeas.put(PROJECT, vulnerability_occurrence(resource, f"CVE-2024-{n}", Severity.LOW))

    def fail_second_page(request: Any) -> None:
        if request.page_token:
            grafeas.fail("ListOccurrences", Code.INTERNAL, "backend error")

    grafeas.before["ListOccurrences"] = fail_second_page
    with pytest.raises(ScanError, match="INTERNAL"):
        analysis(server.endpoint, page_size=2).scan(IMAGE)


def test_image_must_have_digest_and_known_project(api: Any) -> None:
    server, grafeas = api
    with pytest.raises(ScanError, match="no digest"):
        analysis(server.endpoint).scan(f"us-docker.pkg.dev/{PROJECT}/apps/api:1.0")
    hub = "docker.io/library/nginx@sha256:" + "0" * 64
    with pytest.raises(ScanError) as caught:
        analysis(server.endpoint).scan(hub)
    assert "set the project explicitly" in caught.value.hint and not grafeas.calls
    assert analysis(server.endpoint, project=PROJECT).scan(hub).status == "MISSING"
    assert grafeas.calls[0].request.parent == f"projects/{PROJECT}"
    with pytest.raises(ScanError, match="fixability"):
        analysis(server.endpoint, fixability="some")


def test_tls_is_the_default_not_plaintext(api: Any) -> None:
    server, grafeas = api
    tls = GoogleEndpoint(api_endpoint=server.address, anonymous=True)  # TLS to a plaintext port
    with pytest.raises(ScanError) as caught:
        analysis(tls, rpc_timeout=0.5).scan(IMAGE)
    assert "UNAVAILABLE" in caught.value.message and not grafeas.calls


def self_signed_localhost() -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for localhost and 127.0.0.1, its own trust anchor."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder(subject_name=name, issuer_name=name, public_key=key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_tls_server_with_private_ca(tmp_path: Path) -> None:
    cert, key = self_signed_localhost()
    (tmp_path / "ca.pem").write_bytes(cert)
    with GoogleApiServer(tls=(cert, key)) as server:
        grafeas = server.add(GrafeasServicer())
        server.start()
        endpoint = GoogleEndpoint(
            api_endpoint=f"localhost:{server.port}",
            anonymous=True,
            ca_file=str(tmp_path / "ca.pem"),
        )
        assert analysis(endpoint).scan(IMAGE).status == "MISSING"
        assert len(grafeas.calls) == 1
        with pytest.raises(ScanError, match="UNAVAILABLE"):  # the system roots do not trust it
            analysis(replace(endpoint, ca_file=""), rpc_timeout=0.5).scan(IMAGE)


def test_create_and_get_occurrence_for_attestations(api: Any) -> None:
    server, _ = api
    client = GrafeasClient(transport=GrafeasGrpcTransport(channel=server.endpoint.channel("x")))
    attestation = Occurrence(
        resource_uri=f"https://{IMAGE}",
        note_name=f"projects/{PROJECT}/notes/built-by-ci",
        kind=NoteKind.ATTESTATION,
        attestation=AttestationOccurrence(
            serialized_payload=b"{}",
            signatures=[
                Signature(signature=b"sig", public_key_id="//cloudkms.googleapis.com/v1/k")
            ],
        ),
    )
    created = client.create_occurrence(parent=f"projects/{PROJECT}", occurrence=attestation)
    assert created.name.startswith(f"projects/{PROJECT}/occurrences/") and created.create_time
    assert client.get_occurrence(name=created.name).attestation.signatures[0].signature == b"sig"
    with pytest.raises(gexc.InvalidArgument, match="kind"):
        client.create_occurrence(
            parent=f"projects/{PROJECT}", occurrence=Occurrence(resource_uri="u", note_name="n")
        )
    with pytest.raises(gexc.NotFound):
        client.get_occurrence(name=f"projects/{PROJECT}/occurrences/nope")
    with pytest.raises(gexc.InvalidArgument, match="unknown filter field"):
        list(client.list_occurrences(parent=f"projects/{PROJECT}", filter='noteName="x"'))
    client.transport.close()  # type: ignore[no-untyped-call]
