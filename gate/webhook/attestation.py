"""Attestation-required mode: admit only images attested by every configured attestor.

For clusters without Binary Authorization: with ``GATE_REQUIRED_ATTESTORS`` set, each
image's digest must carry a valid attestation by each attestor (all of them, as Binary
Authorization's ``requireAttestationsBy``). The check is an extra policy, id
``GATE-ADM-001``, so it has a mode like any other (roll it out in ``warn`` first).
Verification is an :class:`AttestationVerifier`; the production one
(:mod:`gate.webhook.attestors`) verifies locally with gate's attestation code.
:class:`CachedVerifier` keeps positive verdicts by attestor and digest.

    >>> class Always(AttestationVerifier):
    ...     def verify(self, ref, attestor, deadline): return attestor.endswith("/ci")
    >>> from gate.reference import parse_reference
    >>> req = AttestationRequirement(("projects/p/attestors/ci", "projects/p/attestors/qa"), Always())
    >>> ref = parse_reference("gcr.io/p/app@sha256:" + "a" * 64)
    >>> decision = req.check(Decision(allowed=True), ref.original, ref, "app", deadline=1e12)
    >>> decision.allowed, decision.violations[0].message.endswith("by projects/p/attestors/qa")
    (False, True)
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace

from gate.errors import GateError
from gate.policy.interface import Decision, Finding
from gate.reference import ImageRef
from gate.webhook.cache import TTLCache

POLICY_ID = "GATE-ADM-001"
POLICY = "attestation"
REMEDIATION = (
    "Sign the image in the build pipeline (gate attest IMAGE) with a key of the attestor, "
    "and deploy it by that digest."
)


class AttestationVerifier(abc.ABC):
    @abc.abstractmethod
    def verify(self, ref: ImageRef, attestor: str, deadline: float) -> bool:
        """True when ``ref`` (with a digest) has a valid attestation by ``attestor``.

        Raises :class:`GateError` when it cannot tell (API down, attestor unreadable).
        """


class CachedVerifier(AttestationVerifier):
    """Positive verdicts kept by (attestor, digest); a missing attestation is asked again."""

    def __init__(self, inner: AttestationVerifier, cache: TTLCache[tuple[str, str], bool]):
        self.inner, self.cache = inner, cache

    def verify(self, ref: ImageRef, attestor: str, deadline: float) -> bool:
        key = (attestor, f"{ref.name}@{ref.digest}")
        if self.cache.get(key):
            return True
        verified = self.inner.verify(ref, attestor, deadline)
        if verified:
            self.cache.put(key, True)
        return verified


@dataclass(frozen=True)
class AttestationRequirement:
    attestors: tuple[str, ...]
    verifier: AttestationVerifier

    def check(
        self, decision: Decision, image: str, ref: ImageRef | None, container: str, deadline: float
    ) -> Decision:
        """``decision`` with a violation per missing attestation (or an error if unknown)."""
        if decision.errors:
            return decision
        if ref is None or ref.digest is None:
            return _add(
                decision,
                _finding(
                    image, container, "no digest was resolved, so no attestation can be verified"
                ),
            )
        missing = []
        for attestor in self.attestors:
            try:
                if not self.verifier.verify(ref, attestor, deadline):
                    missing.append(attestor)
            except GateError as exc:
                return decision.with_errors(exc)
        found = [
            _finding(image, container, f"{ref.name}@{ref.digest} has no valid attestation by {a}")
            for a in missing
        ]
        return _add(decision, *found)


def _finding(image: str, container: str, message: str) -> Finding:
    return Finding(
        policy_id=POLICY_ID,
        policy=POLICY,
        severity="critical",
        title="attestation required",
        message=message,
        remediation=REMEDIATION,
        image=image,
        container=container,
    )


def _add(decision: Decision, *findings: Finding) -> Decision:
    if not findings:
        return decision
    violations = tuple(sorted(decision.violations + findings, key=Finding.sort_key))
    return replace(decision, allowed=False, violations=violations)
