"""``verify_image`` accepts what ``attest`` made and rejects everything else; each case
is also put to the Binary Authorization validation server, which must agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from grafeas import grafeas_v1

from gate.attest.attestor import AttestationError
from gate.attest.payload import build_payload
from gate.attest.signers.local import LocalKeySigner
from gate.attest.verify import verify_image
from gate.reference import ImageRef, parse_reference
from tests.integration.attest_env import NOTE, PROJECT, GoogleApis, google_apis, image


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


def verify(apis: GoogleApis, ref: ImageRef, *, confirm: bool = True):  # type: ignore[no-untyped-def]
    attestations = apis.attestations()
    validator = apis.validator() if confirm else None
    return verify_image(ref, attestations.attestor, attestations.store, validator=validator)


def put(apis: GoogleApis, ref: ImageRef, payload: bytes, signature: bytes, key_id: str) -> None:
    apis.grafeas.put(
        PROJECT,
        grafeas_v1.Occurrence(
            resource_uri=f"https://{ref.name}@{ref.digest}",
            note_name=NOTE,
            kind=grafeas_v1.NoteKind.ATTESTATION,
            attestation=grafeas_v1.AttestationOccurrence(
                serialized_payload=payload,
                signatures=[grafeas_v1.Signature(signature=signature, public_key_id=key_id)],
            ),
        ),
    )


def test_verify_accepts_what_attest_made(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.attestations().attest(image(), signer)
    result = verify(apis, image())
    assert result.verified and result.exit_code == 0
    [check] = result.checks
    assert check.check.key_ids == (signer.public_key_id,)
    assert result.confirmations[check.name] == "VERIFIED"
    assert len(apis.validation.called("ValidateAttestationOccurrence")) == 1
    assert result.to_dict()["occurrences"][0]["valid"] is True


def test_no_attestation_is_not_verified(apis: GoogleApis) -> None:
    apis.attestor_for(apis.kms_signer())
    result = verify(apis, image())
    assert not result.verified and result.exit_code == 1
    assert "no attestation" in result.summary()


def test_a_payload_for_another_digest_is_rejected(apis: GoogleApis) -> None:
    signer = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    apis.attestor_for(signer)
    payload = build_payload(image("sha256:" + "9" * 64))
    put(apis, image(), payload, signer.sign(payload).signature, signer.public_key_id)
    result = verify(apis, image())
    assert not result.verified
    assert any("digest sha256:999" in r for r in result.checks[0].check.reasons)
    assert not apis.validation.called("ValidateAttestationOccurrence")  # only valid ones


def test_a_payload_for_another_repository_is_rejected(apis: GoogleApis) -> None:
    signer = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    apis.attestor_for(signer)
    payload = build_payload(image(name="us-docker.pkg.dev/gate-test/apps/other"))
    put(apis, image(), payload, signer.sign(payload).signature, signer.public_key_id)
    result = verify(apis, image())
    assert not result.verified
    assert any(
        "names us-docker.pkg.dev/gate-test/apps/other" in r for r in result.checks[0].check.reasons
    )


def test_a_tampered_signature_is_rejected(apis: GoogleApis) -> None:
    signer = apis.kms_signer("RSA_SIGN_PSS_2048_SHA256")
    apis.attestor_for(signer)
    payload = build_payload(image())
    good = signer.sign(payload).signature
    bad = good[:10] + bytes([good[10] ^ 0xFF]) + good[11:]
    put(apis, image(), payload, bad, signer.public_key_id)
    result = verify(apis, image())
    assert not result.verified
    assert any("does not verify" in r for r in result.checks[0].check.reasons)


def test_a_tampered_payload_is_rejected(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    payload = build_payload(image())
    signature = signer.sign(payload).signature
    put(apis, image(), payload.replace(b"\n}\n", b"\n} \n"), signature, signer.public_key_id)
    assert not verify(apis, image()).verified


def test_a_key_that_is_not_the_attestors_is_rejected(apis: GoogleApis) -> None:
    attestor_key = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    stranger = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    apis.attestor_for(attestor_key)
    payload = build_payload(image())
    put(apis, image(), payload, stranger.sign(payload).signature, stranger.public_key_id)
    # and a stranger's signature claiming the attestor's key id
    put(apis, image(), payload, stranger.sign(payload).signature, attestor_key.public_key_id)
    result = verify(apis, image())
    assert not result.verified and len(result.checks) == 2
    reasons = [r for c in result.checks for r in c.check.reasons]
    assert any("not a key of" in r for r in reasons)
    assert any("does not verify" in r for r in reasons)


def test_binary_authorization_disagreeing_means_not_verified(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.attestations().attest(image(), signer)
    apis.validation.deny = "attestor key disabled"
    result = verify(apis, image())
    assert not result.verified and result.exit_code == 1
    [check] = result.checks
    assert check.valid  # locally valid, but Binary Authorization says no
    assert result.confirmations[check.name] == "ATTESTATION_NOT_VERIFIABLE: attestor key disabled"
    assert result.to_dict()["occurrences"][0]["valid"] is False
    assert verify(apis, image(), confirm=False).verified


def test_an_attestation_of_another_attestor_is_not_counted(apis: GoogleApis) -> None:
    ours = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    theirs = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    apis.attestor_for(ours)
    apis.add_attestor(
        [(theirs.public_key_id, theirs.public_key_pem(), "ECDSA_P256_SHA256")],
        name=f"projects/{PROJECT}/attestors/other",
        note=f"projects/{PROJECT}/notes/other",
    )
    apis.attestations(f"projects/{PROJECT}/attestors/other").attest(image(), theirs)
    result = verify(apis, image())
    assert not result.verified and result.checks == ()


def test_verify_needs_a_digest(apis: GoogleApis) -> None:
    apis.attestor_for(apis.kms_signer())
    with pytest.raises(AttestationError, match="no digest"):
        verify(apis, parse_reference("us-docker.pkg.dev/gate-test/apps/api:1"))
