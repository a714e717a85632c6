"""Vulnerability sources: scan report files (Trivy, Grype) and, elsewhere, Artifact Analysis.

:func:`load_scan_report` reads a report file of either format; :class:`ReportFile` is the
same as a :class:`ScanSource` that also refuses a report about another image.

    >>> source = ReportFile("trivy.json")          # doctest: +SKIP
    >>> source.scan("ghcr.io/acme/app@sha256:…")   # doctest: +SKIP
    ScanResult(source='trivy', ...)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.facts.scans.grype import is_grype_report, parse_grype
from gate.facts.scans.interface import (
    REPORT_HINT,
    ScanError,
    ScanResult,
    ScanSource,
    VulnerabilityFinding,
    read_report,
)
from gate.facts.scans.trivy import is_trivy_report, parse_trivy

__all__ = [
    "ReportFile",
    "ScanError",
    "ScanResult",
    "ScanSource",
    "VulnerabilityFinding",
    "load_scan_report",
    "parse_scan_report",
]


def load_scan_report(path: str | Path) -> ScanResult:
    """Read a Trivy (SchemaVersion 2), Grype or gcloud/Grafeas JSON report, whichever it is.

    Raises :class:`ScanError` for a file that is missing, empty, not JSON, truncated,
    of neither format, of an unsupported Trivy schema version, or of the wrong shape.
    """
    return parse_scan_report(read_report(path), origin=str(path))


def parse_scan_report(doc: Any, *, origin: str = "scan report") -> ScanResult:
    """Normalise an already decoded Trivy, Grype or gcloud/Grafeas report."""
    if is_trivy_report(doc):
        return parse_trivy(doc, origin=origin)
    if is_grype_report(doc):
        return parse_grype(doc, origin=origin)
    from gate.facts.scans import gcloud  # grafeas and protobuf load only when needed

    if gcloud.is_gcloud_report(doc):
        return gcloud.parse_gcloud(doc, origin=origin)
    raise ScanError(
        f"{origin}: neither a Trivy, a Grype nor a gcloud/Grafeas JSON report", hint=REPORT_HINT
    )


class ReportFile(ScanSource):
    """A scan report file as a vulnerability source (local testing, CI pipelines).

    ``scan(image)`` refuses a report that names other digests than the image's; with
    ``strict=True`` it also refuses a report that names no digest at all.
    """

    name = "report file"

    def __init__(self, path: str | Path, *, strict: bool = False) -> None:
        self.path = Path(path)
        self.strict = strict

    def scan(self, image: str) -> ScanResult:
        result = load_scan_report(self.path)
        _, at, digest = image.rpartition("@")
        if at:
            result.ensure_about(digest, strict=self.strict)
        elif self.strict:
            raise ScanError(
                f"cannot match {self.path} to {image}: the image has no digest",
                hint="name the image by digest (REPO@sha256:…)",
            )
        return result
