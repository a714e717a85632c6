"""The supply-chain evidence source gate builds from its settings.

:class:`SupplyChain` loads the trust once (PEM files read, Cloud KMS public keys fetched,
the Sigstore trusted root parsed; a failure is retried on the next image and denies this
one) and asks each configured place for evidence: the registry (referrers, cosign tags)
and Artifact Analysis (Cloud Build's BUILD occurrences).

    >>> from gate.config import Settings
    >>> build_evidence_source(Settings(), registry=None) is None  # no trust: nothing to look up
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gate.errors import GateError
from gate.facts.interface import ImageFacts
from gate.facts.provenance.bundle import KeylessVerifier
from gate.facts.provenance.interface import Evidence, EvidenceSource
from gate.facts.provenance.judge import Judge
from gate.facts.provenance.keys import KmsReader, load_trusted_keys
from gate.facts.provenance.settings import TrustSettings
from gate.reference import ImageRef

if TYPE_CHECKING:
    from gate.config import Settings
    from gate.facts.registry import RegistryClient

SourceFactory = Callable[[Judge], EvidenceSource]


class SupplyChain(EvidenceSource):
    """Evidence from every configured place, judged with the deployment's trust."""

    def __init__(
        self, trust: TrustSettings, kms: KmsReader | None, places: Sequence[SourceFactory]
    ) -> None:
        self.trust, self.kms, self.places = trust, kms, places
        self._sources: list[EvidenceSource] | None = None
        self._lock = threading.Lock()

    def judge(self) -> Judge:
        """The trust, loaded once (:class:`GateError` when a key or the root is unusable)."""
        keys = load_trusted_keys(self.trust.trusted_keys, self.kms)
        root = self.trust.sigstore_trusted_root
        return Judge(keys, KeylessVerifier(root) if root else None)

    def evidence(self, ref: ImageRef, deadline: float) -> Evidence:
        try:
            sources = self._loaded()
        except GateError as exc:
            return Evidence(errors=(exc,))
        found = Evidence()
        for source in sources:
            found = found + source.evidence(ref, deadline)
        return found

    def _loaded(self) -> list[EvidenceSource]:
        with self._lock:
            if self._sources is None:
                judge = self.judge()
                self._sources = [place(judge) for place in self.places]
            return self._sources


def build_evidence_source(
    settings: Settings, registry: RegistryClient | None
) -> EvidenceSource | None:
    """The evidence source ``settings`` describe; ``None`` when no trust is configured."""
    trust = settings.trust
    if not trust.configured:
        return None
    places: list[SourceFactory] = []
    if "registry" in trust.provenance_sources and registry is not None:
        from gate.facts.provenance.registry import RegistryEvidence

        client = registry
        places.append(lambda judge: RegistryEvidence(client, judge))
    if "artifact-analysis" in trust.provenance_sources:
        places.append(_artifact_analysis(settings))
    return SupplyChain(trust, _kms_reader(settings), places)


def _artifact_analysis(settings: Settings) -> SourceFactory:
    from gate.facts.provenance.artifact_analysis import ArtifactAnalysisEvidence
    from gate.facts.scans.artifact_analysis import ArtifactAnalysis, ArtifactAnalysisSettings

    client = ArtifactAnalysis(
        ArtifactAnalysisSettings(
            endpoint=settings.google_endpoint(settings.artifact_analysis_endpoint),
            project=settings.artifact_analysis_project,
        )
    )
    project = settings.artifact_analysis_project
    return lambda judge: ArtifactAnalysisEvidence(client, judge, project)


def _kms_reader(settings: Settings) -> KmsReader:
    """Reads a key version's PEM and algorithm with KMS GetPublicKey (name and CRC32C
    checked by :class:`gate.attest.signers.kms.KmsSigner`)."""

    def read(name: str) -> tuple[str, str]:
        from gate.attest.clients import kms_client
        from gate.attest.signers.kms import KmsSigner

        client = kms_client(settings.google_endpoint(settings.attest.kms_endpoint))
        signer = KmsSigner(name, client, timeout=settings.attest.google_timeout)
        try:
            return signer.public_key_pem(), signer.algorithm.name
        finally:
            signer.close()

    return read


def with_evidence(facts: ImageFacts, evidence: Evidence) -> ImageFacts:
    """``facts`` with the evidence's facts in the input schema's shape and its errors."""
    return replace(
        facts,
        provenance=tuple(p.to_input() for p in evidence.provenance),
        signatures=tuple(s.to_input() for s in evidence.signatures),
        unverified=tuple(u.to_input() for u in evidence.unverified),
        errors=(*facts.errors, *evidence.errors),
    )
