"""Verify an image's attestations: what ``gate verify IMAGE --attestor …`` runs.

Lists the image's ATTESTATION occurrences on the attestor's note and verifies each
locally with ``cryptography`` against the attestor's PKIX keys (payload digest = image
digest, docker-reference = repository, signature valid for the key's algorithm). With a
``ValidationHelperV1Client`` each locally valid occurrence is also confirmed by Binary
Authorization's ``ValidateAttestationOccurrence``; both must agree. Exit codes: 0
verified, 1 not verified (errors are raised, and the CLI maps them to 2).

    >>> result = verify_image(ref, attestor, OccurrenceStore(grafeas, "p"))  # doctest: +SKIP
    >>> result.verified, result.exit_code                                    # doctest: +SKIP
    (True, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import binaryauthorization_v1 as binauthz

from gate.attest.attestor import AttestationError, Attestor
from gate.attest.clients import last_error, read_retry
from gate.attest.signatures import SignatureCheck
from gate.attest.store import OccurrenceCheck, OccurrenceStore, check_occurrence, resource_uri
from gate.facts.google import rpc_error
from gate.reference import ImageRef

VERIFIED = "VERIFIED"


@dataclass(frozen=True)
class VerifyResult:
    image: str  # registry/repository@sha256:…
    attestor: str
    checks: tuple[OccurrenceCheck, ...]
    confirmations: dict[str, str] = field(default_factory=dict)  # occurrence → Binauthz verdict
    signatures: SignatureCheck | None = None  # cosign signatures, when trust was given

    def confirmed(self, check: OccurrenceCheck) -> bool:
        verdict = self.confirmations.get(check.name)
        return check.valid and (verdict is None or verdict == VERIFIED)

    @property
    def attested(self) -> bool:
        return any(self.confirmed(check) for check in self.checks)

    @property
    def verified(self) -> bool:
        """Every check asked for passed: the attestor's, and the signatures' when asked."""
        signed = self.signatures is None or self.signatures.verified
        asked = bool(self.attestor) or self.signatures is not None
        return asked and signed and (not self.attestor or self.attested)

    @property
    def exit_code(self) -> int:
        return 0 if self.verified else 1

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.signatures is None else {"signatures": self.signatures.to_dict()}
        return {
            **extra,
            "image": self.image,
            "attestor": self.attestor,
            "verified": self.verified,
            "occurrences": [
                {
                    "name": check.name,
                    "valid": self.confirmed(check),
                    "verified_by": list(check.check.key_ids),
                    "reasons": list(check.check.reasons),
                    "binauthz": self.confirmations.get(check.name, ""),
                }
                for check in self.checks
            ],
        }

    def summary(self) -> str:
        if self.signatures is not None:
            signed = "signed" if self.signatures.verified else "no valid signature"
            found = f"{self.image}: {signed} ({len(self.signatures.signatures)} valid, "
            found += f"{len(self.signatures.unverified)} not)"
            return found if not self.attestor else f"{found}; {self._attestation_summary()}"
        return self._attestation_summary()

    def _attestation_summary(self) -> str:
        if self.attested:
            good = [c.name for c in self.checks if self.confirmed(c)]
            return f"{self.image}: verified by {self.attestor} ({', '.join(good)})"
        if not self.checks:
            return f"{self.image}: no attestation by {self.attestor}"
        return f"{self.image}: {len(self.checks)} attestation(s), none valid for {self.attestor}"


def verify_image(
    ref: ImageRef,
    attestor: Attestor,
    store: OccurrenceStore,
    *,
    validator: binauthz.ValidationHelperV1Client | None = None,
    timeout: float = 30.0,
) -> VerifyResult:
    """Verify every stored attestation of ``ref`` (which must carry a digest)."""
    if ref.digest is None:
        raise AttestationError(
            f"cannot verify {ref}: no digest", hint="resolve the tag to its digest first"
        )
    uri = resource_uri(ref)
    occurrences = store.list(uri, attestor.note_name)
    checks = tuple(check_occurrence(o, ref, attestor) for o in occurrences)
    confirmations: dict[str, str] = {}
    if validator is not None:
        for check, occurrence in zip(checks, occurrences, strict=True):
            if check.valid:
                confirmations[check.name] = _confirm(validator, attestor, occurrence, timeout)
    return VerifyResult(f"{ref.name}@{ref.digest}", attestor.name, checks, confirmations)


def _confirm(
    validator: binauthz.ValidationHelperV1Client,
    attestor: Attestor,
    occurrence: Any,
    timeout: float,
) -> str:
    request = binauthz.ValidateAttestationOccurrenceRequest(
        attestor=attestor.name,
        attestation=occurrence.attestation,
        occurrence_note=occurrence.note_name,
        occurrence_resource_uri=occurrence.resource_uri,
    )
    try:
        reply = validator.validate_attestation_occurrence(
            request=request, retry=read_retry(timeout), timeout=timeout
        )
    except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
        raise rpc_error(
            last_error(exc),
            f"validating {occurrence.name} with Binary Authorization",
            AttestationError,
            service="binaryauthorization.googleapis.com",
            project=attestor.project,
            target="Binary Authorization",
        ) from exc
    result = binauthz.ValidateAttestationOccurrenceResponse.Result(reply.result).name
    return result if result == VERIFIED else f"{result}: {reply.denial_reason}"
