"""Attestors and attestation occurrences through the real Binary Authorization and Grafeas
clients, against local gRPC servers; every refusal is checked at the servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gate.attest.attestor import AttestationError
from gate.attest.binauthz import Attestations
from gate.attest.signers.local import LocalKeySigner
from tests.integration.attest_env import (
    ATTESTOR,
    NOTE,
    PROJECT,
    GoogleApis,
    google_apis,
    image,
)
from tests.integration.binauthz_server import verify_pkix


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


def signed_count(apis: GoogleApis) -> int:
    return len(apis.kms.called("AsymmetricSign"))


def test_attest_stores_the_occurrence_binary_authorization_expects(apis: GoogleApis) -> None:
    signer = apis.kms_signer("EC_SIGN_P256_SHA256")
    apis.attestor_for(signer)
    ref = image()
    outcome = apis.attestations().attest(ref, signer)
    assert outcome.status == "created"
    [stored] = apis.stored(ref)
    assert stored.name.startswith(f"projects/{PROJECT}/occurrences/")
    assert stored.resource_uri == f"https://{ref.name}@{ref.digest}"
    assert stored.note_name == NOTE
    [create] = apis.grafeas.called("CreateOccurrence")
    assert create.request.parent == f"projects/{PROJECT}"
    payload = stored.attestation.serialized_payload
    assert payload == (
        b'{\n  "critical": {\n    "identity": {\n      "docker-reference": '
        b'"us-docker.pkg.dev/gate-test/apps/api"\n    },\n    "image": {\n      '
        b'"docker-manifest-digest": "' + ref.digest.encode() + b'"\n    },\n    "type": '
        b'"Google cloud binauthz container signature"\n  }\n}\n'
    )
    [signature] = stored.attestation.signatures
    assert signature.public_key_id == signer.public_key_id
    pem = apis.kms.keys[signer.public_key_id.split("/v1/")[1]].pem
    assert verify_pkix(pem, "ECDSA_P256_SHA256", payload, signature.signature)


def test_attesting_twice_leaves_one_occurrence_and_says_so(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    attestations = apis.attestations()
    first = attestations.attest(image(), signer)
    second = attestations.attest(image(), signer)
    assert (first.status, second.status) == ("created", "exists")
    assert "already attested" in second.message
    assert second.occurrence.name == first.occurrence.name
    assert len(apis.stored(image())) == 1
    assert signed_count(apis) == 1  # the second run signed nothing


def test_five_concurrent_attestations_leave_one_occurrence(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    attestations = [apis.attestations() for _ in range(5)]
    barrier = threading.Barrier(5)
    statuses: list[str] = []

    def run(index: int) -> None:
        barrier.wait()
        statuses.append(attestations[index].attest(image(), signer).status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["created"] + ["exists"] * 4
    assert len(apis.stored(image())) == 1


def test_another_digest_gets_its_own_attestation(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    attestations = apis.attestations()
    attestations.attest(image(), signer)
    other = image("sha256:" + "7" * 64)
    assert attestations.attest(other, signer).status == "created"
    assert len(apis.stored(other)) == 1 and len(apis.stored(image())) == 1


def test_a_key_the_attestor_does_not_list_is_refused_before_signing(apis: GoogleApis) -> None:
    listed = apis.kms_signer("EC_SIGN_P256_SHA256")
    other = apis.kms_signer("EC_SIGN_P384_SHA384")
    apis.attestor_for(listed)
    with pytest.raises(AttestationError, match="not one of the keys") as caught:
        apis.attestations().attest(image(), other)
    assert "public-keys add" in caught.value.hint
    assert signed_count(apis) == 0
    assert apis.stored() == [] and not apis.grafeas.called("CreateOccurrence")


def test_a_listed_id_with_another_public_key_is_refused(apis: GoogleApis) -> None:
    signer = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    impostor = LocalKeySigner(
        ec.generate_private_key(ec.SECP256R1()), public_key_id=signer.public_key_id
    )
    apis.attestor_for(signer)
    with pytest.raises(AttestationError, match="different public key"):
        apis.attestations().attest(image(), impostor)
    assert apis.stored() == []


def test_an_algorithm_mismatch_is_refused(apis: GoogleApis) -> None:
    signer = apis.kms_signer("RSA_SIGN_PSS_2048_SHA256")
    apis.add_attestor(
        [(signer.public_key_id, signer.public_key_pem(), "RSA_SIGN_PKCS1_2048_SHA256")]
    )
    with pytest.raises(AttestationError, match="expects RSA_SIGN_PKCS1_2048_SHA256"):
        apis.attestations().attest(image(), signer)
    assert signed_count(apis) == 0 and apis.stored() == []


def test_an_attestor_without_keys_is_refused(apis: GoogleApis) -> None:
    apis.add_attestor([])
    with pytest.raises(AttestationError, match="no usable PKIX public key") as caught:
        apis.attestations()
    assert "public-keys add" in caught.value.hint


def test_an_attestor_with_only_pgp_keys_is_refused(apis: GoogleApis) -> None:
    apis.binauthz.add_attestor(ATTESTOR, NOTE, [], pgp=1)
    with pytest.raises(AttestationError, match="PGP keys are not supported"):
        apis.attestations()


def test_a_missing_attestor_is_not_found_with_a_hint(apis: GoogleApis) -> None:
    with pytest.raises(AttestationError, match="NOT_FOUND") as caught:
        apis.attestations("projects/gate-test/attestors/absent")
    assert "docs/attestation.md" in caught.value.hint


def test_a_malformed_attestor_name_is_refused_without_a_call(apis: GoogleApis) -> None:
    with pytest.raises(AttestationError, match="not an attestor name"):
        apis.attestations("gate-test/gate")
    assert not apis.binauthz.called("GetAttestor")


def test_already_exists_from_container_analysis_is_success(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.grafeas.fail("CreateOccurrence", grpc.StatusCode.ALREADY_EXISTS, "exists")
    outcome = apis.attestations().attest(image(), signer)
    assert outcome.status == "exists"
    assert apis.stored() == []


def test_a_create_that_landed_but_timed_out_is_not_repeated(apis: GoogleApis) -> None:
    """The first create is stored, but the reply is lost: gate lists, finds it, stops."""
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    original = apis.grafeas.CreateOccurrence
    attempts: list[int] = []

    def lossy(request):  # type: ignore[no-untyped-def]
        stored = original(request)
        attempts.append(1)
        if len(attempts) == 1:
            from tests.integration.google_api_server import Abort

            raise Abort(grpc.StatusCode.UNAVAILABLE, "connection reset after commit")
        return stored

    apis.grafeas.CreateOccurrence = lossy  # type: ignore[method-assign]
    outcome = apis.attestations().attest(image(), signer)
    assert outcome.status == "created" and "confirmed" in outcome.message
    assert len(attempts) == 1
    assert len(apis.stored(image())) == 1


def test_a_transient_create_failure_is_retried(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.grafeas.fail("CreateOccurrence", grpc.StatusCode.UNAVAILABLE, "blip")
    outcome = apis.attestations().attest(image(), signer)
    assert outcome.status == "created"
    assert len(apis.grafeas.called("CreateOccurrence")) == 2
    assert len(apis.stored(image())) == 1


def test_container_analysis_refusing_is_a_clear_error(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.grafeas.fail("CreateOccurrence", grpc.StatusCode.PERMISSION_DENIED, "denied")
    with pytest.raises(AttestationError, match="PERMISSION_DENIED") as caught:
        apis.attestations().attest(image(), signer)
    assert "notes.attacher" in caught.value.hint
    assert apis.stored() == []


def test_kms_failing_stores_nothing(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.kms.fail("AsymmetricSign", grpc.StatusCode.PERMISSION_DENIED, "no")
    from gate.attest.signers.interface import SignerError

    with pytest.raises(SignerError, match="PERMISSION_DENIED"):
        apis.attestations().attest(image(), signer)
    assert apis.stored() == [] and not apis.grafeas.called("CreateOccurrence")


def test_a_corrupted_kms_crc_stores_nothing(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.kms.tamper.add("signature_crc32c")
    from gate.attest.signers.interface import SignerError

    with pytest.raises(SignerError, match="CRC32C"):
        apis.attestations().attest(image(), signer)
    assert apis.stored() == [] and not apis.grafeas.called("CreateOccurrence")


def test_dry_run_signs_and_stores_nothing(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    outcome = apis.attestations().attest(image(), signer, dry_run=True)
    assert outcome.status == "dry-run"
    data = outcome.occurrence_dict()
    assert data["resource_uri"] == f"https://{image().name}@{image().digest}"
    assert data["note_name"] == NOTE and data["kind"] == "ATTESTATION"
    assert data["attestation"]["signatures"][0]["public_key_id"] == signer.public_key_id
    assert signed_count(apis) == 0 and apis.stored() == []


def test_occurrences_can_go_to_another_project(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    outcome = Attestations(
        apis.read_attestor(), apis.attestations().store.client, project="images-prod"
    ).attest(image(), signer)
    assert outcome.occurrence.name.startswith("projects/images-prod/occurrences/")
