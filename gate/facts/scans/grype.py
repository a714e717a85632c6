"""Grype JSON reports (``grype -o json IMAGE``) as a ScanResult.

Severity: a match's ``vulnerability.severity`` comes from the feed it matched in (the
distribution's for OS packages, GitHub's for language packages), so it becomes
``effective_severity``; ``severity`` is NVD's rating of the same or a related record
(``relatedVulnerabilities`` in namespace ``nvd:cpe``) where present, else the same value.
Negligible maps to MINIMAL and Unknown to UNSPECIFIED. A finding is fixable when
``fix.state`` is ``fixed`` and ``fix.versions`` names at least one version. ``cvss`` is
the highest CVSS v3 base score in ``vulnerability.cvss`` (else the highest of any
version), falling back to the related records' scores when the match carries none.

    >>> result = parse_grype({"matches": [{"vulnerability": {"id": "CVE-2020-12413",
    ...     "severity": "Low", "fix": {"versions": [], "state": "wont-fix"}, "cvss": []},
    ...     "artifact": {"name": "nss", "type": "rpm", "version": "3.79.0-17.el9_1"}}]})
    >>> [(f.id, f.effective_severity, f.fixable) for f in result.findings]
    [('CVE-2020-12413', 'LOW', False)]
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

SEVERITY_MAP = {
    "unknown": "UNSPECIFIED",
    "negligible": "MINIMAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "critical": "CRITICAL",
}
"""Grype's severity names (any case) to the input schema's."""
NVD_NAMESPACE = "nvd:cpe"


def is_grype_report(doc: Any) -> bool:
    """Whether ``doc`` looks like a Grype JSON report."""
    return isinstance(doc, dict) and "matches" in doc


def load_grype(path: str | Path) -> ScanResult:
    """Read and normalise a Grype report file; :class:`ScanError` on any defect."""
    return parse_grype(read_report(path), origin=str(path))


def parse_grype(doc: Any, *, origin: str = "Grype report") -> ScanResult:
    """Normalise a decoded Grype report; :class:`ScanError` on any defect."""
    if not is_grype_report(doc):
        raise ScanError(f"{origin}: not a Grype report (no matches)", hint=REPORT_HINT)
    try:
        return _result(doc)
    except ShapeError as exc:
        raise ScanError(f"{origin}: not a usable Grype report: {exc}", hint=REPORT_HINT) from exc


def _result(doc: dict[str, Any]) -> ScanResult:
    matches = arr(doc["matches"], "matches", nullable=True)
    findings = tuple(_finding(m, f"matches[{i}]") for i, m in enumerate(matches))
    source = obj(doc.get("source"), "source", nullable=True)
    target = source.get("target") if source.get("type") == "image" else None
    image = obj(target, "source.target") if target is not None else {}
    descriptor = obj(doc.get("descriptor"), "descriptor", nullable=True)
    return ScanResult(
        source="grype",
        findings=findings,
        digests=_digests(image),
        image_id=opt_text(image.get("imageID"), "source.target.imageID") or None,
        artifact=opt_text(image.get("userInput"), "source.target.userInput") or "",
        scanner_version=opt_text(descriptor.get("version"), "descriptor.version") or "",
    )


def _digests(image: dict[str, Any]) -> tuple[str, ...]:
    where = "source.target.repoDigests"
    repo_digests = arr(image.get("repoDigests"), where, nullable=True)
    found = [digest_after_at(text(d, f"{where}[{i}]")) for i, d in enumerate(repo_digests)]
    found.append(opt_text(image.get("manifestDigest"), "source.target.manifestDigest"))
    return tuple(dict.fromkeys(d for d in found if d))


def _finding(raw: Any, where: str) -> VulnerabilityFinding:
    match = obj(raw, where)
    vuln = obj(match.get("vulnerability"), f"{where}.vulnerability")
    artifact = obj(match.get("artifact"), f"{where}.artifact")
    related = _related(match.get("relatedVulnerabilities"), f"{where}.relatedVulnerabilities")
    vid = text(vuln.get("id"), f"{where}.vulnerability.id")
    effective = _severity(vuln.get("severity", "Unknown"), f"{where}.vulnerability.severity")
    fix = obj(vuln.get("fix"), f"{where}.vulnerability.fix", nullable=True)
    versions = [
        text(v, f"{where}.vulnerability.fix.versions[{i}]")
        for i, v in enumerate(arr(fix.get("versions"), f"{where}.vulnerability.fix", nullable=True))
    ]
    return VulnerabilityFinding(
        id=vid,
        aliases=_aliases(vid, related, where),
        severity=_nvd_severity(vuln, related, where) or effective,
        effective_severity=effective,
        fixable=fix.get("state") == "fixed" and bool(versions),
        package=text(artifact.get("name"), f"{where}.artifact.name"),
        package_type=text(artifact.get("type"), f"{where}.artifact.type"),
        installed_version=text(artifact.get("version"), f"{where}.artifact.version"),
        fixed_version=", ".join(versions) or None,
        cvss=_best_cvss(vuln, related, where),
    )


def _related(value: Any, where: str) -> list[dict[str, Any]]:
    return [obj(r, f"{where}[{i}]") for i, r in enumerate(arr(value, where, nullable=True))]


def _severity(value: Any, where: str) -> str:
    name = text(value, where).lower()
    if name not in SEVERITY_MAP:
        raise ShapeError(f"{where}: unknown Grype severity {value!r}")
    return SEVERITY_MAP[name]


def _aliases(vid: str, related: list[dict[str, Any]], where: str) -> tuple[str, ...]:
    ids = (text(r.get("id"), f"{where}.relatedVulnerabilities[].id") for r in related)
    return tuple(dict.fromkeys(i for i in ids if i != vid))


def _nvd_severity(vuln: dict[str, Any], related: list[dict[str, Any]], where: str) -> str | None:
    for record in [vuln, *related]:
        if record.get("namespace") == NVD_NAMESPACE and record.get("severity") is not None:
            return _severity(record["severity"], f"{where}: NVD severity")
    return None


def _cvss(record: dict[str, Any], where: str) -> float | None:
    v3: list[float] = []
    other: list[float] = []
    for i, raw in enumerate(arr(record.get("cvss"), f"{where}.cvss", nullable=True)):
        entry = obj(raw, f"{where}.cvss[{i}]")
        metrics = obj(entry.get("metrics"), f"{where}.cvss[{i}].metrics", nullable=True)
        score = number(metrics.get("baseScore"), f"{where}.cvss[{i}].metrics.baseScore")
        version = str(entry.get("version", ""))
        if score is not None:
            (v3 if version.startswith("3") else other).append(score)
    return max(v3 or other, default=None)


def _best_cvss(vuln: dict[str, Any], related: list[dict[str, Any]], where: str) -> float | None:
    own = _cvss(vuln, f"{where}.vulnerability")
    if own is not None:
        return own
    scores = [_cvss(r, f"{where}.relatedVulnerabilities[{i}]") for i, r in enumerate(related)]
    return max((s for s in scores if s is not None), default=None)
