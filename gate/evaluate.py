"""Evaluate one image: parse the reference, decide on the reference alone, then on the facts.

Reference-level policies (digest, registries, tags, exemptions) run first, on the reference
alone: when they deny, no fact is fetched and no host is contacted. Facts come from local
files here (``--metadata``, ``--scan``); fetching them from the registry is the job of
:mod:`gate.facts` when no local facts are given.

    >>> from gate.policy.engines import create_engine
    >>> from gate.config import Settings
    >>> decision = evaluate_image(create_engine(Settings()), "nginx:latest", LocalFacts())
    >>> decision.allowed
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gate.errors import GateError
from gate.facts.metadata import ImageFacts, load_metadata
from gate.facts.scans import load_scan_report
from gate.facts.scans.interface import ScanResult
from gate.policy.document import build_document
from gate.policy.interface import Decision, Engine, Scope
from gate.reference import ImageRef, parse_reference


@dataclass(frozen=True)
class LocalFacts:
    """Facts a developer supplies from files, for local testing."""

    metadata: ImageFacts | None = None
    scan: ScanResult | None = None

    @classmethod
    def from_files(cls, metadata: Path | None, scan: Path | None) -> LocalFacts:
        return cls(
            metadata=load_metadata(metadata) if metadata else None,
            scan=load_scan_report(scan) if scan else None,
        )

    @property
    def given(self) -> bool:
        return self.metadata is not None or self.scan is not None


def evaluate_image(
    engine: Engine,
    reference: str,
    facts: LocalFacts,
    *,
    entry_point: str = "eval",
    now: datetime | None = None,
) -> Decision:
    try:
        ref = parse_reference(reference)
    except GateError as exc:
        return Decision.from_error(exc, entry_point, engine=engine.name)
    if not facts.given:
        reference_only = build_document(ref.to_input(), entry_point=entry_point, now=now)
        first = engine.evaluate(reference_only, Scope.REFERENCE)
        if not first.allowed:
            return first
    try:
        _check_scan_subject(ref, facts.scan)
    except GateError as exc:
        return Decision.from_error(exc, entry_point, engine=engine.name)
    document = build_document(
        ref.to_input(), entry_point=entry_point, facts=facts.metadata, scan=facts.scan, now=now
    )
    return engine.evaluate(document, Scope.FULL)


def _check_scan_subject(ref: ImageRef, scan: ScanResult | None) -> None:
    """A report about another image must never stand in for this one's scan."""
    if scan is None or not scan.digests or ref.digest is None:
        return
    if ref.digest not in scan.digests:
        raise GateError(
            f"the scan report is about {', '.join(sorted(scan.digests))}, not {ref.digest}",
            hint="scan the image you evaluate, by digest, and pass that report",
        )
