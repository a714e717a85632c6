"""Attestation-required mode: with a stand-in verifier, and end to end with gate's own
verification against the Binary Authorization and Grafeas test servers over gRPC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gate.config import Settings
from gate.errors import GateError
from gate.reference import ImageRef, parse_reference
from gate.webhook.attestation import AttestationRequirement, AttestationVerifier, CachedVerifier
from gate.webhook.cache import TTLCache
from gate.webhook.facts import TrialFacts
from gate.webhook.settings import WebhookSettings
from tests.webhook.conftest import AppFactory, answer
from tests.webhook.reviews import COMPLIANT, TAG_ONLY, review, workload

CI = "projects/p/attestors/built-by-ci"
QA = "projects/p/attestors/qa"
OTHER = "us-docker.pkg.dev/gate-samples/apps/hello@sha256:" + "e" * 64


class Verifier(AttestationVerifier):
    """Attested: the (attestor, digest) pairs in ``good``; raises for ``broken`` attestors."""

    def __init__(self, good: set[tuple[str, str]], broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.good, self.broken, self.calls = good, broken, 0

    def verify(self, ref: ImageRef, attestor: str, deadline: float) -> bool:
        self.calls += 1
        if attestor in self.broken:
            raise GateError("Container Analysis unavailable", hint="retry")
        return (attestor, str(ref.digest)) in self.good


DIGEST = COMPLIANT.split("@")[1]


def requirement(verifier: AttestationVerifier, *attestors: str) -> AttestationRequirement:
    return AttestationRequirement(attestors or (CI,), verifier)


def test_an_attested_image_is_admitted_and_an_unattested_one_denied(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    verifier = Verifier({(CI, DIGEST)})
    client = make_app(facts=any_digest_facts, attestations=requirement(verifier)).test_client()
    assert answer(client, review(workload("Pod", COMPLIANT)))["response"]["allowed"] is True
    response = answer(client, review(workload("Deployment", OTHER)))["response"]
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert (
        "[GATE-ADM-001] attestation required" in message
        and f"no valid attestation by {CI}" in message
    )


def test_every_configured_attestor_must_have_attested(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    verifier = Verifier({(CI, DIGEST)})
    app = make_app(facts=any_digest_facts, attestations=requirement(verifier, CI, QA))
    response = answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is False and QA in response["status"]["message"]
    assert CI not in response["status"]["message"]


def test_an_image_without_a_digest_cannot_be_attested(make_app: AppFactory) -> None:
    client = make_app(
        attestations=requirement(Verifier(set())), policy_modes=(("GATE-REF-001", "warn"),)
    ).test_client()
    obj = workload("Pod", "us-docker.pkg.dev/gate-samples/apps/hello:1.0")
    response = answer(client, review(obj))["response"]
    assert response["allowed"] is False
    assert "no digest was resolved" in response["status"]["message"]


def test_a_verifier_that_cannot_tell_denies(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    verifier = Verifier(set(), broken={CI})
    client = make_app(facts=any_digest_facts, attestations=requirement(verifier)).test_client()
    response = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is False
    assert "Container Analysis unavailable" in response["status"]["message"]


def test_the_requirement_can_be_rolled_out_in_warn_mode(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    client = make_app(
        facts=any_digest_facts,
        attestations=requirement(Verifier(set())),
        policy_modes=(("GATE-ADM-001", "warn"),),
    ).test_client()
    response = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is True
    assert any("[GATE-ADM-001]" in w for w in response["warnings"])
    assert answer(client, review(workload("Pod", TAG_ONLY)))["response"]["allowed"] is False


def test_verdicts_are_cached_by_digest_when_positive_only() -> None:
    inner = Verifier({(CI, DIGEST)})
    cached = CachedVerifier(inner, TTLCache(10, 60))
    good, bad = parse_reference(COMPLIANT), parse_reference(OTHER)
    assert [cached.verify(good, CI, 1e12) for _ in range(3)] == [True] * 3
    assert [cached.verify(bad, CI, 1e12) for _ in range(2)] == [False] * 2
    assert inner.calls == 3


# -- end to end with gate's verifier and the Google API test servers ---------------------


@pytest.fixture
def apis() -> Iterator[object]:
    from tests.integration import attest_env

    with attest_env.google_apis() as running:
        yield running


def test_gates_own_verification_admits_what_gate_attest_signed(
    apis: object, make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    from gate.attest.signers.local import LocalKeySigner
    from gate.webhook.attestors import build_requirement

    signer = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    attestor = apis.attestor_for(signer)  # type: ignore[attr-defined]
    apis.attestations(attestor).attest(parse_reference(COMPLIANT), signer)  # type: ignore[attr-defined]
    settings = Settings(
        webhook=WebhookSettings(
            required_attestors=(attestor,),
            attestation_endpoint=apis.endpoint.api_endpoint,  # type: ignore[attr-defined]
            attestation_plaintext=True,
        )
    )
    required = build_requirement(settings)
    client = make_app(facts=any_digest_facts, attestations=required).test_client()
    assert answer(client, review(workload("Pod", COMPLIANT)))["response"]["allowed"] is True
    denied = answer(client, review(workload("Pod", OTHER)))["response"]
    assert denied["allowed"] is False and "GATE-ADM-001" in denied["status"]["message"]
    # The verdict for the attested digest is cached: Grafeas is not asked again.
    listed = len(apis.grafeas.called("ListOccurrences"))  # type: ignore[attr-defined]
    assert answer(client, review(workload("Job", COMPLIANT)))["response"]["allowed"] is True
    assert len(apis.grafeas.called("ListOccurrences")) == listed  # type: ignore[attr-defined]
