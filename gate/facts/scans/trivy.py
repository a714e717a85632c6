"""Trivy JSON reports (``trivy image --format json``, SchemaVersion 2) as a ScanResult.

Severity: Trivy's per-finding ``Severity`` is already the vendor-adjusted one (its
``SeveritySource`` names the distribution or advisory database it came from), so it
becomes ``effective_severity``; ``severity`` is NVD's rating (``VendorSeverity.nvd``)
where the report has one, else the same value. A finding is fixable when Trivy names
a ``FixedVersion`` or says ``Status: fixed``. ``cvss`` is NVD's CVSS v3 score, else the
highest v3 score of any source, else (no v3 anywhere) the same choice among v2 scores.

    >>> result = parse_trivy({"SchemaVersion": 2, "ArtifactName": "alpine:3.10",
    ...     "Results": [{"Target": "alpine", "Type": "alpine", "Vulnerabilities": [
    ...         {"VulnerabilityID": "CVE-2019-1549", "PkgName": "libssl1.1",
    ...          "InstalledVersion": "1.1.1c-r0", "FixedVersion": "1.1.1d-r0",
    ...          "Severity": "MEDIUM"}]}]})
    >>> [(f.id, f.effective_severity, f.fixable) for f in result.findings]
    [('CVE-2019-1549', 'MEDIUM', True)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.facts import ShapeError, arr, number, obj, opt_text, text
from gate.facts.scans.interface import (
    REPORT_HINT,
    ScanError,
    ScanResult,
    VulnerabilityFinding,
    digest_after_at,
    read_report,
)

SUPPORTED_SCHEMA_VERSION = 2
SEVERITY_MAP = {
    "UNKNOWN": "UNSPECIFIED",
    "LOW": "LOW",
    "MEDIUM": "MEDIUM",
    "HIGH": "HIGH",
    "CRITICAL": "CRITICAL",
}
"""Trivy's severity names to the input schema's."""
VENDOR_LEVELS = {0: "UNSPECIFIED", 1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}
"""Trivy's numeric ``VendorSeverity`` values to the input schema's severities."""


def is_trivy_report(doc: Any) -> bool:
    """Whether ``doc`` looks like a Trivy JSON report (of any schema version)."""
    if isinstance(doc, dict):
        return "SchemaVersion" in doc
    return isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict) and "Target" in doc[0]


def load_trivy(path: str | Path) -> ScanResult:
    """Read and normalise a Trivy report file; :class:`ScanError` on any defect."""
    return parse_trivy(read_report(path), origin=str(path))


def parse_trivy(doc: Any, *, origin: str = "Trivy report") -> ScanResult:
    """Normalise a decoded Trivy report; :class:`ScanError` on any defect."""
    _check_version(doc, origin)
    try:
        return _result(doc)
    except ShapeError as exc:
        raise ScanError(f"{origin}: not a usable Trivy report: {exc}", hint=REPORT_HINT) from exc


def _check_version(doc: Any, origin: str) -> None:
    hint = "use Trivy 0.20 or later: trivy image --format json --output report.json IMAGE"
    if isinstance(doc, list):
        raise ScanError(f"{origin}: a pre-0.20 Trivy report (a list, no SchemaVersion)", hint=hint)
    if not isinstance(doc, dict) or "SchemaVersion" not in doc:
        raise ScanError(f"{origin}: not a Trivy report (no SchemaVersion)", hint=REPORT_HINT)
    version = doc["SchemaVersion"]
    if version != SUPPORTED_SCHEMA_VERSION:
        raise ScanError(
            f"{origin}: Trivy SchemaVersion {version!r} is not supported "
            f"(gate reads SchemaVersion {SUPPORTED_SCHEMA_VERSION})",
            hint=hint,
        )


def _result(doc: dict[str, Any]) -> ScanResult:
    metadata = obj(doc.get("Metadata"), "Metadata", nullable=True)
    findings: list[VulnerabilityFinding] = []
    for i, raw in enumerate(arr(doc.get("Results"), "Results", nullable=True)):
        findings.extend(_result_findings(raw, f"Results[{i}]"))
    repo_digests = arr(metadata.get("RepoDigests"), "Metadata.RepoDigests", nullable=True)
    digests = (
        digest_after_at(text(d, f"Metadata.RepoDigests[{i}]")) for i, d in enumerate(repo_digests)
    )
    trivy = obj(doc.get("Trivy"), "Trivy", nullable=True)
    return ScanResult(
        source="trivy",
        findings=tuple(findings),
        digests=tuple(dict.fromkeys(d for d in digests if d)),
        image_id=opt_text(metadata.get("ImageID"), "Metadata.ImageID") or None,
        artifact=opt_text(doc.get("ArtifactName"), "ArtifactName") or "",
        scanner_version=opt_text(trivy.get("Version"), "Trivy.Version") or "",
    )


def _result_findings(raw: Any, where: str) -> list[VulnerabilityFinding]:
    result = obj(raw, where)
    package_type = opt_text(result.get("Type"), f"{where}.Type")
    package_type = package_type or opt_text(result.get("Class"), f"{where}.Class") or ""
    vulns = arr(result.get("Vulnerabilities"), f"{where}.Vulnerabilities", nullable=True)
    return [_finding(v, f"{where}.Vulnerabilities[{i}]", package_type) for i, v in enumerate(vulns)]


def _finding(raw: Any, where: str, package_type: str) -> VulnerabilityFinding:
    vuln = obj(raw, where)
    effective = _severity(vuln.get("Severity", "UNKNOWN"), f"{where}.Severity")
    vendor = _vendor_severities(vuln.get("VendorSeverity"), f"{where}.VendorSeverity")
    fixed = opt_text(vuln.get("FixedVersion"), f"{where}.FixedVersion") or None
    status = opt_text(vuln.get("Status"), f"{where}.Status")
    aliases = arr(vuln.get("VendorIDs"), f"{where}.VendorIDs", nullable=True)
    return VulnerabilityFinding(
        id=text(vuln.get("VulnerabilityID"), f"{where}.VulnerabilityID"),
        aliases=tuple(text(a, f"{where}.VendorIDs[{i}]") for i, a in enumerate(aliases)),
        severity=vendor.get("nvd", effective),
        effective_severity=effective,
        fixable=fixed is not None or status == "fixed",
        package=text(vuln.get("PkgName"), f"{where}.PkgName"),
        package_type=package_type,
        installed_version=opt_text(vuln.get("InstalledVersion"), f"{where}.InstalledVersion") or "",
        fixed_version=fixed,
        cvss=_cvss(vuln.get("CVSS"), f"{where}.CVSS"),
    )


def _severity(value: Any, where: str) -> str:
    name = text(value, where).upper()
    if name not in SEVERITY_MAP:
        raise ShapeError(f"{where}: unknown Trivy severity {value!r}")
    return SEVERITY_MAP[name]


def _vendor_severities(value: Any, where: str) -> dict[str, str]:
    levels: dict[str, str] = {}
    for vendor, level in obj(value, where, nullable=True).items():
        if type(level) is not int or level not in VENDOR_LEVELS:
            raise ShapeError(f"{where}.{vendor}: expected 0-4, got {level!r}")
        levels[vendor] = VENDOR_LEVELS[level]
    return levels


def _cvss(value: Any, where: str) -> float | None:
    sources = obj(value, where, nullable=True)
    for key in ("V3Score", "V2Score"):
        scores: dict[str, float] = {}
        for name, entry in sources.items():
            score = number(obj(entry, f"{where}.{name}").get(key), f"{where}.{name}.{key}")
            if score is not None:
                scores[name] = score
        if scores:
            return scores.get("nvd", max(scores.values()))
    return None
