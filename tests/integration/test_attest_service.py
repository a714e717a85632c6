"""The attest flow with an injected evaluator: sign only on allow, keep outcomes apart,
store nothing on deny or error (checked at the servers)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from gate.attest.attestor import AttestationError
from gate.attest.service import Mode, Status, attest_images
from gate.errors import ConfigError, GateError
from gate.evaluate import Evaluation
from gate.facts.interface import ImageFacts
from gate.policy.interface import Decision, ErrorRecord, Finding
from gate.reference import parse_reference
from tests.integration.attest_env import DIGEST, IMAGE, GoogleApis, google_apis, image
from tests.integration.binauthz_server import verify_pkix

DENY = Finding("GATE-001", "registries", "HIGH", "t", "not an approved registry", "use AR")
DIGESTS = {
    f"{IMAGE}:1.0": DIGEST,
    f"{IMAGE}:2.0": "sha256:" + "8" * 64,
    f"{IMAGE}:bad": "sha256:" + "9" * 64,
}


def evaluator(image_text: str) -> Evaluation:
    """Resolves from DIGESTS; ``:bad`` is denied; ``:missing`` is not in the registry."""
    if image_text.endswith(":missing"):
        error = ErrorRecord("registry", f"{image_text}: manifest unknown", "push it first")
        return Evaluation(parse_reference(image_text), None, Decision(False, errors=(error,)))
    ref = parse_reference(image_text).with_digest(DIGESTS[image_text])
    if image_text.endswith(":bad"):
        return Evaluation(ref, ImageFacts(), Decision(allowed=False, violations=(DENY,)))
    return Evaluation(ref, ImageFacts(), Decision(allowed=True))


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


def test_allowed_images_are_attested_and_the_digest_reported(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    lines: list[str] = []
    report = attest_images(
        [f"{IMAGE}:1.0"],
        evaluator=evaluator,
        attestations=apis.attestations(),
        signer=signer,
        progress=lines.append,
    )
    [result] = report.results
    assert result.status is Status.ATTESTED and report.exit_code == 0
    assert result.resolved == f"{IMAGE}@{DIGEST}"
    assert f"resolved to {IMAGE}@{DIGEST}" in lines[0]
    [stored] = apis.stored(image())
    pem = apis.kms.keys[signer.public_key_id.split("/v1/")[1]].pem
    [signature] = stored.attestation.signatures
    assert verify_pkix(
        pem, "EC_SIGN_P256_SHA256", stored.attestation.serialized_payload, signature.signature
    )


def test_a_policy_deny_signs_and_stores_nothing(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    report = attest_images(
        [f"{IMAGE}:bad"], evaluator=evaluator, attestations=apis.attestations(), signer=signer
    )
    [result] = report.results
    assert result.status is Status.DENIED and report.exit_code == 1
    assert "denied by policy (1 violation)" in result.message
    assert not apis.kms.called("AsymmetricSign") and not apis.grafeas.called("CreateOccurrence")
    assert apis.stored() == []


def test_an_image_not_in_the_registry_errors_and_stores_nothing(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    report = attest_images(
        [f"{IMAGE}:missing"], evaluator=evaluator, attestations=apis.attestations(), signer=signer
    )
    [result] = report.results
    assert result.status is Status.ERRORED and report.exit_code == 2
    assert "manifest unknown" in result.message and "push it first" in result.message
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_several_images_keep_their_outcomes_apart(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    attestations = apis.attestations()
    attest_images([f"{IMAGE}:2.0"], evaluator=evaluator, attestations=attestations, signer=signer)
    report = attest_images(
        [f"{IMAGE}:1.0", f"{IMAGE}:2.0", f"{IMAGE}:bad", f"{IMAGE}:missing"],
        evaluator=evaluator,
        attestations=attestations,
        signer=signer,
    )
    statuses = [r.status for r in report.results]
    assert statuses == [Status.ATTESTED, Status.ALREADY_ATTESTED, Status.DENIED, Status.ERRORED]
    assert report.exit_code == 2
    assert len(apis.stored()) == 2
    document = json.loads(json.dumps(report.to_dict()))
    assert [r["status"] for r in document["results"]] == [
        "attested",
        "already attested",
        "denied",
        "errored",
    ]


def test_check_only_evaluates_and_signs_nothing(apis: GoogleApis) -> None:
    report = attest_images(
        [f"{IMAGE}:1.0", f"{IMAGE}:bad"], evaluator=evaluator, mode=Mode.CHECK_ONLY
    )
    assert [r.status for r in report.results] == [Status.ALLOWED, Status.DENIED]
    assert report.exit_code == 1
    assert not apis.kms.calls and not apis.grafeas.calls


def test_dry_run_returns_the_occurrence_it_would_create(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    report = attest_images(
        [f"{IMAGE}:1.0"],
        evaluator=evaluator,
        attestations=apis.attestations(),
        signer=signer,
        dry_run=True,
    )
    [result] = report.results
    assert result.status is Status.DRY_RUN and report.exit_code == 0
    assert result.occurrence is not None
    assert result.occurrence["resource_uri"] == f"https://{IMAGE}@{DIGEST}"
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_a_wrong_key_fails_before_any_image_is_evaluated(apis: GoogleApis) -> None:
    apis.attestor_for(apis.kms_signer("EC_SIGN_P256_SHA256"))
    stranger = apis.kms_signer("EC_SIGN_P384_SHA384")
    evaluated: list[str] = []

    def counting(image_text: str) -> Evaluation:
        evaluated.append(image_text)
        return evaluator(image_text)

    with pytest.raises(AttestationError, match="not one of the keys"):
        attest_images(
            [f"{IMAGE}:1.0"], evaluator=counting, attestations=apis.attestations(), signer=stranger
        )
    assert evaluated == [] and apis.stored() == []


def test_kms_failing_for_one_image_is_an_error_for_that_image(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    apis.kms.fail("AsymmetricSign", grpc.StatusCode.PERMISSION_DENIED, "denied")
    report = attest_images(
        [f"{IMAGE}:1.0", f"{IMAGE}:2.0"],
        evaluator=evaluator,
        attestations=apis.attestations(),
        signer=signer,
    )
    assert [r.status for r in report.results] == [Status.ERRORED, Status.ATTESTED]
    assert "roles/cloudkms.signerVerifier" in report.results[0].message
    assert [o.resource_uri for o in apis.stored()] == [f"https://{IMAGE}@sha256:" + "8" * 64]


def test_an_evaluator_that_raises_is_an_error(apis: GoogleApis) -> None:
    def broken(image_text: str) -> Evaluation:
        raise GateError("registry unreachable", hint="check the network")

    report = attest_images([f"{IMAGE}:1.0"], evaluator=broken, mode=Mode.CHECK_ONLY)
    assert report.results[0].status is Status.ERRORED
    assert report.results[0].errors[0].hint == "check the network"


def test_an_allowed_but_unresolved_image_is_never_signed(apis: GoogleApis) -> None:
    signer = apis.kms_signer()
    apis.attestor_for(signer)
    report = attest_images(
        [f"{IMAGE}:1.0"],
        evaluator=lambda text: Evaluation(parse_reference(text), ImageFacts(), Decision(True)),
        attestations=apis.attestations(),
        signer=signer,
    )
    assert report.results[0].status is Status.ERRORED
    assert "not resolved to a digest" in report.results[0].message
    assert apis.stored() == []


def test_check_and_sign_needs_an_attestor_and_a_key() -> None:
    with pytest.raises(ConfigError, match="needs an attestor and a key"):
        attest_images([f"{IMAGE}:1.0"], evaluator=evaluator)
