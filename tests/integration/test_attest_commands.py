"""``attest_command`` / ``verify_command`` (what ``gate attest`` / ``gate verify`` run):
clients built from endpoint settings, over plaintext to a local server and over TLS with
a private CA; text and JSON reports; exit codes."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gate.attest.attestor import AttestationError
from gate.attest.commands import ApiEndpoints, attest_command, verify_command
from gate.attest.output import ATTEST_OUTPUTS, VERIFY_OUTPUTS
from gate.attest.service import Mode, Status
from gate.attest.signers.interface import SignerError
from gate.errors import InvalidReference
from gate.evaluate import Evaluation
from gate.facts.google import GoogleEndpoint
from gate.facts.interface import ImageFacts
from gate.policy.interface import Decision, Finding
from gate.reference import parse_reference
from tests.integration.attest_env import (
    ATTESTOR,
    DIGEST,
    IMAGE,
    GoogleApis,
    google_apis,
    key_version,
)

TAGS = {f"{IMAGE}:1.0": DIGEST, f"{IMAGE}:bad": "sha256:" + "9" * 64}
DENY = Finding("GATE-007", "root", "HIGH", "root", "runs as root", "set USER")


def evaluator(text: str) -> Evaluation:
    ref = parse_reference(text).with_digest(TAGS[text])
    allowed = not text.endswith(":bad")
    return Evaluation(ref, ImageFacts(), Decision(allowed, violations=() if allowed else (DENY,)))


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


def endpoints(apis: GoogleApis) -> ApiEndpoints:
    return ApiEndpoints.same(apis.endpoint, timeout=5.0)


def test_attest_then_verify_with_a_kms_key(apis: GoogleApis) -> None:
    apis.attestor_for(apis.kms_signer("RSA_SIGN_PSS_3072_SHA256"))
    lines: list[str] = []
    report = attest_command(
        [f"{IMAGE}:1.0", f"{IMAGE}:bad"],
        evaluator=evaluator,
        attestor=ATTESTOR,
        key="gcpkms://" + key_version("RSA_SIGN_PSS_3072_SHA256"),
        endpoints=endpoints(apis),
        progress=lines.append,
    )
    assert [r.status for r in report.results] == [Status.ATTESTED, Status.DENIED]
    assert report.exit_code == 1
    text = ATTEST_OUTPUTS["text"].render(report)
    assert f"attested          {IMAGE}@{DIGEST}" in text
    assert "1 image(s)" not in text and "2 image(s): 1 attested, 1 denied" in text
    assert json.loads(ATTEST_OUTPUTS["json"].render(report))["exit_code"] == 1
    assert any(f"resolved to {IMAGE}@{DIGEST}" in line for line in lines)

    result = verify_command(
        f"{IMAGE}@{DIGEST}", attestor=ATTESTOR, endpoints=endpoints(apis), confirm=True
    )
    assert result.verified and result.exit_code == 0
    assert "Binary Authorization: VERIFIED" in VERIFY_OUTPUTS["text"].render(result)
    denied = verify_command(
        f"{IMAGE}@{TAGS[f'{IMAGE}:bad']}", attestor=ATTESTOR, endpoints=endpoints(apis)
    )
    assert not denied.verified and denied.exit_code == 1
    assert json.loads(VERIFY_OUTPUTS["json"].render(denied))["verified"] is False


def test_attest_with_a_local_pem_key(apis: GoogleApis, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "dev-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    from gate.attest.signers.local import LocalKeySigner

    apis.attestor_for(LocalKeySigner(key))
    report = attest_command(
        [f"{IMAGE}:1.0"],
        evaluator=evaluator,
        attestor=ATTESTOR,
        key=str(path),
        endpoints=endpoints(apis),
    )
    assert report.results[0].status is Status.ATTESTED
    assert verify_command(
        f"{IMAGE}@{DIGEST}", attestor=ATTESTOR, endpoints=endpoints(apis), confirm=True
    ).verified


def test_check_only_needs_no_attestor_key_or_api(apis: GoogleApis) -> None:
    report = attest_command([f"{IMAGE}:1.0"], evaluator=evaluator, mode=Mode.CHECK_ONLY)
    assert report.results[0].status is Status.ALLOWED and report.exit_code == 0
    assert not apis.server.services[0].calls


def test_verify_needs_a_digest(apis: GoogleApis) -> None:
    with pytest.raises(InvalidReference, match="needs a digest"):
        verify_command(f"{IMAGE}:1.0", attestor=ATTESTOR, endpoints=endpoints(apis))


def test_a_bad_key_spec_fails_before_evaluating(apis: GoogleApis, tmp_path: Path) -> None:
    apis.attestor_for(apis.kms_signer())
    with pytest.raises(SignerError, match="cannot read private key file"):
        attest_command(
            [f"{IMAGE}:1.0"],
            evaluator=evaluator,
            attestor=ATTESTOR,
            key=str(tmp_path / "absent.pem"),
            endpoints=endpoints(apis),
        )
    assert apis.stored() == []


def self_signed_localhost() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_everything_works_over_tls_with_a_private_ca(tmp_path: Path) -> None:
    cert, key = self_signed_localhost()
    (tmp_path / "ca.pem").write_bytes(cert)
    with google_apis(tls=(cert, key)) as apis:
        tls = GoogleEndpoint(
            api_endpoint=f"localhost:{apis.server.port}",
            anonymous=True,
            ca_file=str(tmp_path / "ca.pem"),
        )
        apis.kms.add_key(key_version("EC_SIGN_P256_SHA256"), "EC_SIGN_P256_SHA256")
        pem = apis.kms.keys[key_version("EC_SIGN_P256_SHA256")].pem
        apis.add_attestor(
            [
                (
                    "//cloudkms.googleapis.com/v1/" + key_version("EC_SIGN_P256_SHA256"),
                    pem,
                    "ECDSA_P256_SHA256",
                )
            ]
        )
        settings = ApiEndpoints.same(tls, timeout=5.0)
        report = attest_command(
            [f"{IMAGE}:1.0"],
            evaluator=evaluator,
            attestor=ATTESTOR,
            key=key_version("EC_SIGN_P256_SHA256"),
            endpoints=settings,
        )
        assert report.results[0].status is Status.ATTESTED
        assert verify_command(
            f"{IMAGE}@{DIGEST}", attestor=ATTESTOR, endpoints=settings, confirm=True
        ).verified
        # without the private CA, the system roots do not trust the server: nothing is signed
        untrusted = ApiEndpoints.same(replace(tls, ca_file=""), timeout=1.0)
        before = len(apis.kms.called("AsymmetricSign"))
        with pytest.raises(AttestationError, match="UNAVAILABLE"):
            verify_command(f"{IMAGE}@{DIGEST}", attestor=ATTESTOR, endpoints=untrusted)
        assert len(apis.kms.called("AsymmetricSign")) == before


def test_plaintext_is_never_used_unless_asked(apis: GoogleApis) -> None:
    """TLS is the default: against the plaintext test server the handshake fails."""
    apis.attestor_for(apis.kms_signer())
    tls_by_default = GoogleEndpoint(api_endpoint=apis.server.address, anonymous=True)
    with pytest.raises(AttestationError, match="UNAVAILABLE"):
        verify_command(
            f"{IMAGE}@{DIGEST}",
            attestor=ATTESTOR,
            endpoints=ApiEndpoints.same(tls_by_default, timeout=1.0),
        )
    assert not apis.binauthz.called("GetAttestor")
