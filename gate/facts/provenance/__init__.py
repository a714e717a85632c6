"""Provenance and signatures as facts: found where images keep them, verified before they count.

``interface`` (the contract, frozen facts, :class:`ProvenanceError`), ``settings`` (the
trust: ``GATE_TRUSTED_KEYS``, ``GATE_SIGSTORE_TRUSTED_ROOT``, ``GATE_PROVENANCE_SOURCES``),
``keys`` (PEM and Cloud KMS keys), ``dsse``, ``statement`` (in-toto / SLSA), ``cosign``
(simple signing), ``bundle`` (Sigstore bundles, sigstore-python), ``judge`` (verified
bytes to facts), ``registry`` (OCI referrers and cosign tags), ``artifact_analysis``
(Cloud Build's BUILD occurrences) and ``source`` (all of it from the settings).

    >>> from gate.config import Settings
    >>> from gate.facts.provenance.source import build_evidence_source
    >>> build_evidence_source(Settings(), registry=None) is None
    True
"""

from gate.facts.provenance.interface import (
    Evidence,
    EvidenceSource,
    Provenance,
    ProvenanceError,
    SignatureFact,
    Unverified,
    VerifiedBy,
)

__all__ = [
    "Evidence",
    "EvidenceSource",
    "Provenance",
    "ProvenanceError",
    "SignatureFact",
    "Unverified",
    "VerifiedBy",
]
