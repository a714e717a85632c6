"""Build provenance from Artifact Analysis: the BUILD occurrences Cloud Build writes.

For ``REGISTRY/REPO@sha256:…`` gate lists ``kind="BUILD" AND resourceUrl="https://…"``
in the image's project (or the Artifact Analysis project setting). Cloud Build writes one
occurrence per provenance format (SLSA v1 in ``build.inTotoSlsaProvenanceV1``, v0.1 in
``build.intotoStatement``, notes under ``projects/verified-builder``), each with a DSSE
``envelope`` signed by Google's key versions in ``projects/verified-builder`` (key ids
such as ``projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/
google-hosted-worker/cryptoKeyVersions/1``). Only the envelope's signed payload is read:
the parsed ``build`` fields beside it carry no signature of their own. An occurrence
without an envelope, or one no trusted key verifies, is :class:`Unverified`.

Trust Cloud Build's keys by listing them in ``GATE_TRUSTED_KEYS`` as ``gcpkms://…``.

    >>> ArtifactAnalysisEvidence.applies("docker.io/library/nginx@sha256:" + "a" * 64, "")
    False
"""

from __future__ import annotations

from dataclasses import dataclass

from grafeas.grafeas_v1 import Occurrence

from gate.errors import GateError
from gate.facts.google import project_of
from gate.facts.provenance.dsse import Envelope, EnvelopeSignature
from gate.facts.provenance.interface import (
    Evidence,
    EvidenceSource,
    Provenance,
    ProvenanceError,
    SignatureFact,
    Unverified,
)
from gate.facts.provenance.judge import Fact, Judge
from gate.facts.scans.artifact_analysis import ArtifactAnalysis
from gate.reference import ImageRef

BUILD_FILTER = 'kind="BUILD" AND resourceUrl="{}"'
ORIGIN = "artifact-analysis"
MAX_OCCURRENCES = 64


@dataclass
class ArtifactAnalysisEvidence(EvidenceSource):
    """Cloud Build's signed provenance from the image's BUILD occurrences."""

    client: ArtifactAnalysis
    judge: Judge
    project: str = ""

    @staticmethod
    def applies(image: str, project: str) -> bool:
        """Whether there is a project to look in (an Artifact Registry or gcr.io image, or
        the project setting): other registries have no BUILD occurrences."""
        return bool(project) or project_of(image) is not None

    def evidence(self, ref: ImageRef, deadline: float) -> Evidence:
        assert ref.digest is not None
        image = f"{ref.name}@{ref.digest}"
        if not self.applies(image, self.project):
            return Evidence()
        try:
            found = self.client.occurrences(image, BUILD_FILTER)
        except GateError as exc:
            error = ProvenanceError(f"build provenance of {image}: {exc.message}", hint=exc.hint)
            return Evidence(errors=(error,))
        facts = [self._judge(occurrence, ref.digest) for occurrence in found[:MAX_OCCURRENCES]]
        return Evidence(
            provenance=tuple(f for f in facts if isinstance(f, Provenance)),
            signatures=tuple(f for f in facts if isinstance(f, SignatureFact)),
            unverified=tuple(f for f in facts if isinstance(f, Unverified)),
        )

    def _judge(self, occurrence: Occurrence, digest: str) -> Fact | None:
        raw = occurrence.envelope
        if not raw.payload or not raw.signatures:
            return Unverified(
                "provenance", ORIGIN, f"BUILD occurrence {occurrence.name} has no signed envelope"
            )
        envelope = Envelope(
            raw.payload_type,
            bytes(raw.payload),
            tuple(EnvelopeSignature(bytes(s.sig), s.keyid) for s in raw.signatures),
        )
        fact = self.judge.parsed_envelope(envelope, origin=ORIGIN, image_digest=digest)
        if isinstance(fact, Unverified):
            return Unverified(
                fact.kind, ORIGIN, f"BUILD occurrence {occurrence.name}: {fact.reason}"
            )
        return fact
