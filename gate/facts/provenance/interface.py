"""The supply-chain evidence contract: one method, frozen results, one error family.

An :class:`EvidenceSource` finds what is attached to an image (build provenance, cosign
signatures, Sigstore bundles) and returns :class:`Evidence`: only what verified against
the deployment's trust counts (:class:`Provenance`, :class:`SignatureFact`); everything
else is kept as :class:`Unverified` with the reason, so a denial can say that a signature
was there but by an unknown key. Backends translate library failures into
:class:`ProvenanceError` at the boundary.

    >>> by = VerifiedBy(key="gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1")
    >>> SignatureFact("cosign", "sha256:" + "a" * 64, "registry", by).to_input()["verified_by"]["identity"] is None
    True
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from gate.errors import GateError
from gate.reference import ImageRef

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
ORIGINS = ("registry", "artifact-analysis")


class ProvenanceError(GateError):
    """Evidence that could not be looked up (a registry or API failure, a bad trust setting).

    Evidence that was found but did not verify is not an error: it is :class:`Unverified`.
    """

    kind = "provenance"


@dataclass(frozen=True)
class VerifiedBy:
    """Who vouched for a piece of evidence: a trusted key (its id), or a keyless identity."""

    key: str = ""
    issuer: str = ""
    subject: str = ""

    def to_input(self) -> dict[str, Any]:
        identity = {"issuer": self.issuer, "subject": self.subject} if self.subject else None
        return {"key": self.key or None, "identity": identity}


@dataclass(frozen=True)
class Subject:
    name: str
    digest: str  # "sha256:<hex>"; "" when the statement names no sha256/sha512 digest

    def to_input(self) -> dict[str, str]:
        return {"name": self.name, "digest": self.digest}


@dataclass(frozen=True)
class ProvenanceClaims:
    """What a SLSA provenance statement claims (not yet who vouched for it)."""

    predicate_type: str
    builder_id: str
    build_type: str
    source_repository: str
    source_revision: str
    source_ref: str
    subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class Provenance(ProvenanceClaims):
    """A verified SLSA provenance statement, in the input schema's shape."""

    origin: str  # one of ORIGINS
    verified_by: VerifiedBy

    @classmethod
    def of(cls, claims: ProvenanceClaims, origin: str, verified_by: VerifiedBy) -> Provenance:
        return cls(**vars(claims), origin=origin, verified_by=verified_by)

    def to_input(self) -> dict[str, Any]:
        return {
            "predicate_type": self.predicate_type,
            "builder_id": self.builder_id,
            "build_type": self.build_type,
            "source": {
                "repository": self.source_repository,
                "revision": self.source_revision,
                "ref": self.source_ref,
            },
            "subjects": [subject.to_input() for subject in self.subjects],
            "origin": self.origin,
            "verified_by": self.verified_by.to_input(),
        }


@dataclass(frozen=True)
class SignatureFact:
    """A verified signature over the image: cosign's simple signing, or a Sigstore bundle."""

    kind: str  # "cosign" or "sigstore-bundle"
    digest: str  # the manifest digest the signed payload names
    origin: str
    verified_by: VerifiedBy

    def to_input(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "digest": self.digest,
            "origin": self.origin,
            "verified_by": self.verified_by.to_input(),
        }


@dataclass(frozen=True)
class Unverified:
    """Evidence found but not counted, and why (unknown key, bad signature, malformed)."""

    kind: str  # "provenance" or "signature"
    origin: str
    reason: str

    def to_input(self) -> dict[str, str]:
        return {"kind": self.kind, "origin": self.origin, "reason": self.reason}


@dataclass(frozen=True)
class Evidence:
    """Everything one look found; ``errors`` are lookups that failed (they deny)."""

    provenance: tuple[Provenance, ...] = ()
    signatures: tuple[SignatureFact, ...] = ()
    unverified: tuple[Unverified, ...] = ()
    errors: tuple[GateError, ...] = field(default=())

    def __add__(self, other: Evidence) -> Evidence:
        return Evidence(
            self.provenance + other.provenance,
            self.signatures + other.signatures,
            self.unverified + other.unverified,
            self.errors + other.errors,
        )


class EvidenceSource(abc.ABC):
    """Where an image's supply-chain evidence comes from. One method."""

    @abc.abstractmethod
    def evidence(self, ref: ImageRef, deadline: float) -> Evidence:
        """The verified evidence about ``ref`` (pinned to a digest), before ``deadline``
        (monotonic). Failed lookups are in ``Evidence.errors``; never raises for them."""
