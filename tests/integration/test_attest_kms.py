"""Cloud KMS signing through the real google-cloud-kms client against a local gRPC KMS.

Every signature is verified independently with ``cryptography`` (binauthz_server.verify_pkix)
against the PEM the KMS server holds, not the one gate read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from gate.attest.clients import kms_client
from gate.attest.payload import build_payload
from gate.attest.signers import SignerOptions, load_signer
from gate.attest.signers.interface import SignerError
from gate.attest.signers.kms import KmsSigner
from tests.integration.attest_env import KMS_ALGORITHMS, GoogleApis, google_apis, image, key_version
from tests.integration.binauthz_server import verify_pkix

PAYLOAD = build_payload(image())


@pytest.fixture(scope="module")
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(apis: GoogleApis) -> None:
    apis.kms.tamper.clear()
    apis.kms.faults.clear()


@pytest.mark.parametrize("algorithm", KMS_ALGORITHMS)
def test_every_kms_algorithm_signs_a_payload_that_verifies(
    apis: GoogleApis, algorithm: str
) -> None:
    signer = apis.kms_signer(algorithm)
    signature = signer.sign(PAYLOAD)
    server_key = apis.kms.keys[key_version(algorithm)]
    assert verify_pkix(server_key.pem, algorithm, PAYLOAD, signature.signature)
    assert not verify_pkix(server_key.pem, algorithm, PAYLOAD + b" ", signature.signature)
    assert signature.public_key_id == "//cloudkms.googleapis.com/v1/" + key_version(algorithm)
    assert signer.algorithm.name == algorithm
    assert signer.public_key_pem() == server_key.pem
    request = apis.kms.called("AsymmetricSign")[-1].request
    digest_field = algorithm.rsplit("_", 1)[1].lower()
    assert (
        len(getattr(request.digest, digest_field))
        == {"sha256": 32, "sha512": 64, "sha384": 48}[digest_field]
    )
    assert request.digest_crc32c is not None
    signer.close()


def test_load_signer_picks_kms_for_key_version_names(apis: GoogleApis) -> None:
    apis.kms_signer("EC_SIGN_P384_SHA384").close()
    for spec in (
        key_version("EC_SIGN_P384_SHA384"),
        "gcpkms://" + key_version("EC_SIGN_P384_SHA384"),
        "//cloudkms.googleapis.com/v1/" + key_version("EC_SIGN_P384_SHA384"),
    ):
        with load_signer(spec, SignerOptions(kms_endpoint=apis.endpoint)) as signer:
            assert isinstance(signer, KmsSigner)
            sig = signer.sign(PAYLOAD)
            pem = apis.kms.keys[key_version("EC_SIGN_P384_SHA384")].pem
            assert verify_pkix(pem, "EC_SIGN_P384_SHA384", PAYLOAD, sig.signature)


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        ("signature_crc32c", "corrupted in transit"),
        ("unverified", "did not confirm the digest"),
        ("name", "signed with"),
        ("signature", "does not verify"),
    ],
)
def test_a_lying_kms_reply_is_refused(apis: GoogleApis, tamper: str, words: str) -> None:
    signer = apis.kms_signer("EC_SIGN_P256_SHA256")
    signer.public_key_pem()  # read before tampering
    apis.kms.tamper.add(tamper)
    with pytest.raises(SignerError, match=words) as caught:
        signer.sign(PAYLOAD)
    assert caught.value.hint
    signer.close()


def test_a_corrupted_public_key_is_refused(apis: GoogleApis) -> None:
    apis.kms.tamper.add("pem_crc32c")
    signer = apis.kms_signer("EC_SIGN_P256_SHA256")
    before = len(apis.kms.called("AsymmetricSign"))
    with pytest.raises(SignerError, match="PEM CRC32C"):
        signer.sign(PAYLOAD)
    assert len(apis.kms.called("AsymmetricSign")) == before


def test_a_digest_corrupted_on_the_way_is_refused_by_kms(apis: GoogleApis) -> None:
    """KMS rejects a digest whose CRC32C does not match; nothing is signed."""
    signer = apis.kms_signer("EC_SIGN_P256_SHA256")
    signer.public_key_pem()

    def corrupt(request: object) -> None:
        request.digest_crc32c ^= 1  # type: ignore[attr-defined]

    apis.kms.before["AsymmetricSign"] = corrupt
    try:
        with pytest.raises(SignerError, match="INVALID_ARGUMENT"):
            signer.sign(PAYLOAD)
    finally:
        del apis.kms.before["AsymmetricSign"]


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, "roles/cloudkms.signerVerifier"),
        (grpc.StatusCode.FAILED_PRECONDITION, "ENABLED"),
        (grpc.StatusCode.INVALID_ARGUMENT, "ASYMMETRIC_SIGN"),
    ],
)
def test_kms_errors_become_signer_errors_with_hints(
    apis: GoogleApis, code: grpc.StatusCode, hint: str
) -> None:
    signer = apis.kms_signer("EC_SIGN_P256_SHA256")
    signer.public_key_pem()
    apis.kms.fail("AsymmetricSign", code, "refused by test")
    with pytest.raises(SignerError, match=code.name) as caught:
        signer.sign(PAYLOAD)
    assert hint in caught.value.hint


def test_an_unknown_key_version_is_not_found(apis: GoogleApis) -> None:
    signer = KmsSigner(key_version("EC_SIGN_P256_SHA256", 99), kms_client(apis.endpoint))
    with pytest.raises(SignerError, match="NOT_FOUND") as caught:
        _ = signer.algorithm
    assert "cryptoKeyVersions/N" in caught.value.hint


def test_a_slow_kms_times_out_with_a_clear_message(apis: GoogleApis) -> None:
    signer = apis.kms_signer("EC_SIGN_P256_SHA256", timeout=0.5)
    signer.public_key_pem()
    apis.kms.fail("AsymmetricSign", None, delay=2.0)
    started = time.monotonic()
    with pytest.raises(SignerError, match="DEADLINE_EXCEEDED") as caught:
        signer.sign(PAYLOAD)
    assert time.monotonic() - started < 1.9
    assert "in time" in caught.value.hint


def test_unavailable_kms_is_retried_then_succeeds(apis: GoogleApis) -> None:
    signer = apis.kms_signer("EC_SIGN_P256_SHA256", timeout=5.0)
    signer.public_key_pem()
    before = len(apis.kms.called("AsymmetricSign"))
    apis.kms.fail("AsymmetricSign", grpc.StatusCode.UNAVAILABLE, "blip", times=2)
    signature = signer.sign(PAYLOAD)
    assert len(apis.kms.called("AsymmetricSign")) == before + 3
    pem = apis.kms.keys[key_version("EC_SIGN_P256_SHA256")].pem
    assert verify_pkix(pem, "EC_SIGN_P256_SHA256", PAYLOAD, signature.signature)


def test_a_kms_key_binary_authorization_cannot_use_is_refused(apis: GoogleApis) -> None:
    name = key_version("EC_SIGN_P256_SHA256", 7)
    key = apis.kms.add_key(name, "EC_SIGN_P256_SHA256")
    key.algorithm = "EC_SIGN_SECP256K1_SHA256"
    with pytest.raises(SignerError, match="not supported"):
        _ = KmsSigner(name, kms_client(apis.endpoint)).algorithm


def test_a_malformed_key_name_is_refused_before_any_call(apis: GoogleApis) -> None:
    with pytest.raises(SignerError, match="not a Cloud KMS key version"):
        KmsSigner("projects/p/keyRings/r", kms_client(apis.endpoint))
