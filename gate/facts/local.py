"""Facts from files: what a developer supplies for local testing; nothing is fetched.

:class:`LocalFacts` serves the same image config (or gate metadata document) and scan
report for every image: ``gate eval --metadata … --scan …`` and, through
:class:`gate.webhook.facts.TrialFacts`, the webhook's trial mode. A scan report about
another digest is refused by ``evaluate_image``, as for fetched facts.

    >>> import time
    >>> from gate.reference import parse_reference
    >>> ref, facts = LocalFacts().gather(parse_reference("gcr.io/p/app:1"), time.monotonic())
    >>> LocalFacts.local, ref.tag, facts.platforms
    (True, '1', ())
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from gate.facts.interface import FactSource, ImageFacts
from gate.facts.metadata import load_metadata
from gate.facts.scans import load_scan_report
from gate.facts.scans.interface import ScanResult
from gate.reference import ImageRef


@dataclass(frozen=True)
class LocalFacts(FactSource):
    """The same facts, from files, for every image."""

    metadata: ImageFacts | None = None
    scan: ScanResult | None = None
    local = True

    @classmethod
    def from_files(cls, metadata: str | Path | None, scan: str | Path | None) -> LocalFacts:
        """Read the files named (``None`` or ``""``: none); InputError on a bad file."""
        return cls(
            metadata=load_metadata(metadata) if metadata else None,
            scan=load_scan_report(Path(scan)) if scan else None,
        )

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        facts = self.metadata or ImageFacts()
        if self.scan is not None:
            facts = replace(facts, vulnerabilities=self.scan)
        return ref, facts
