"""Grafeas v1 occurrences to findings and a scan status: one path for the API and gcloud.

Artifact Analysis (through the Grafeas client) and ``gcloud`` JSON both yield Grafeas v1
``Occurrence`` messages; this module turns them into the input schema's findings.

- ``id``: the vulnerability note's id (``projects/goog-vulnz/notes/CVE-2021-1234`` →
  ``CVE-2021-1234``).
- one finding per package issue: the same CVE in two installed packages is two findings,
  each with its package, package type, installed and fixed version (identical issues,
  e.g. one package found at two file locations, count once). An occurrence without
  package issues gives one finding with no package.
- ``effective_severity``: the package issue's ``effective_severity`` (Grafeas advises the
  package level: a distribution and a language ecosystem may rate one CVE differently),
  else the occurrence's (the highest of its packages'), else ``severity``; unset is
  ``UNSPECIFIED``.
- ``cvss``: ``cvss_score`` to one decimal (it travels as a 32-bit float); 0 is read as
  "not given", as proto3 cannot tell them apart.
- ``fixable``: a package issue has a fix when ``fix_available`` is set or its fixed
  version is a real (``NORMAL``) version, not ``MAXIMUM`` (the older "no fix" marker).
  Fixability is judged per occurrence (per CVE) and given to each of its findings:
  :data:`FIX_ANY` (the default) calls the CVE fixable when *any* package issue has a
  fix, the meaning of v1's own ``fix_available`` and what the console and gcloud show;
  :data:`FIX_ALL` asks for *every* package issue to have one, as Kritis does. Each
  finding's ``fixed_version`` is its own package's (``None`` where that package has none). With
  thresholds where fixable findings are held to the stricter limit (the usual
  ``maximumFixableSeverity`` ≤ ``maximumUnfixableSeverity``), ``any`` denies more.

    >>> from grafeas.grafeas_v1 import Occurrence
    >>> occ = occurrence_from_json({"kind": "VULNERABILITY",
    ...     "noteName": "projects/goog-vulnz/notes/CVE-2023-29405",
    ...     "vulnerability": {"severity": "HIGH", "effectiveSeverity": "CRITICAL",
    ...         "cvssScore": 9.8, "packageIssue": [{"affectedPackage": "go",
    ...         "affectedVersion": {"name": "1.17.6", "kind": "NORMAL"}, "fixAvailable": True,
    ...         "fixedVersion": {"name": "1.19.10", "kind": "NORMAL"}, "packageType": "GO_STDLIB"}]}})
    >>> f = finding(occ)
    >>> f.id, f.severity, f.effective_severity, f.fixable, f.fixed_version
    ('CVE-2023-29405', 'HIGH', 'CRITICAL', True, '1.19.10')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from grafeas.grafeas_v1 import DiscoveryOccurrence, Occurrence, Version

from gate.facts import ShapeError, obj
from gate.facts.scans.interface import VulnerabilityFinding

FIX_ANY = "any"
FIX_ALL = "all"
FIXABILITY = (FIX_ANY, FIX_ALL)
DEFAULT_FIXABILITY = FIX_ANY
_DIGEST_RE = re.compile(r"@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_Status = DiscoveryOccurrence.AnalysisStatus


def occurrence_from_json(raw: Any, where: str = "occurrence") -> Occurrence:
    """A v1 ``Occurrence`` from its JSON (camelCase or snake_case names); unknown
    fields are ignored (newer API versions add some); :class:`ShapeError` if malformed."""
    message = Occurrence.pb(Occurrence())
    try:
        json_format.ParseDict(obj(raw, where), message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ShapeError(f"{where}: not a Grafeas v1 occurrence: {exc}") from exc
    occurrence: Occurrence = Occurrence.wrap(message)
    return occurrence


def resource_digest(resource_uri: str) -> str | None:
    """The well-formed digest a resource URI ends in (``…@sha256:<64 hex>``), if any."""
    match = _DIGEST_RE.search(resource_uri)
    return match.group(1) if match else None


def cve_id(note_name: str) -> str:
    """The note id: ``projects/goog-vulnz/notes/CVE-2021-1234`` → ``CVE-2021-1234``."""
    return note_name.rpartition("/notes/")[2] or note_name.rpartition("/")[2] or note_name


def severity_name(value: Any) -> str:
    """A Grafeas ``Severity`` as the input schema names it (unset → ``UNSPECIFIED``)."""
    name = getattr(value, "name", "")
    return name if name and name != "SEVERITY_UNSPECIFIED" else "UNSPECIFIED"


def version_text(version: Version) -> str:
    """``[epoch:]name[-revision]`` (or ``full_name`` when the API gives one)."""
    if version.full_name:
        return str(version.full_name)
    text = f"{version.epoch}:{version.name}" if version.epoch else str(version.name)
    return f"{text}-{version.revision}" if version.revision else text


def issue_fixed(issue: Any) -> bool:
    """Whether one ``PackageIssue`` has a fix."""
    fixed = issue.fixed_version
    return bool(issue.fix_available) or (
        fixed.kind == Version.VersionKind.NORMAL and bool(fixed.name or fixed.full_name)
    )


def is_fixable(occurrence: Occurrence, fixability: str = DEFAULT_FIXABILITY) -> bool:
    """Fixability of a VULNERABILITY occurrence under ``fixability`` (any or all)."""
    vulnerability = occurrence.vulnerability
    issues = list(vulnerability.package_issue)
    if not issues:
        return bool(vulnerability.fix_available)
    if fixability == FIX_ALL:
        return all(issue_fixed(i) for i in issues)
    return bool(vulnerability.fix_available) or any(issue_fixed(i) for i in issues)


def finding(occurrence: Occurrence, fixability: str = DEFAULT_FIXABILITY) -> VulnerabilityFinding:
    """The first finding of one VULNERABILITY occurrence (see :func:`occurrence_findings`)."""
    return occurrence_findings(occurrence, fixability)[0]


def occurrence_findings(
    occurrence: Occurrence, fixability: str = DEFAULT_FIXABILITY
) -> tuple[VulnerabilityFinding, ...]:
    """The input schema's findings for one VULNERABILITY occurrence: one per package issue."""
    vulnerability = occurrence.vulnerability
    issues: list[Any] = list(vulnerability.package_issue) or [None]
    found = (_package_finding(occurrence, issue, fixability) for issue in issues)
    return tuple(dict.fromkeys(found))


def _package_finding(occurrence: Occurrence, issue: Any, fixability: str) -> VulnerabilityFinding:
    vulnerability = occurrence.vulnerability
    severity = severity_name(vulnerability.severity)
    effective = severity_name(issue.effective_severity) if issue is not None else "UNSPECIFIED"
    if effective == "UNSPECIFIED":
        effective = severity_name(vulnerability.effective_severity)
    fixed = issue is not None and issue_fixed(issue)
    return VulnerabilityFinding(
        id=cve_id(occurrence.note_name) or str(vulnerability.short_description),
        severity=severity,
        effective_severity=severity if effective == "UNSPECIFIED" else effective,
        fixable=is_fixable(occurrence, fixability),
        package=str(issue.affected_package) if issue is not None else "",
        package_type=str(issue.package_type) if issue is not None else "",
        installed_version=version_text(issue.affected_version) if issue is not None else "",
        fixed_version=version_text(issue.fixed_version) if fixed else None,
        cvss=round(float(vulnerability.cvss_score), 1) or None,
    )


def findings(
    occurrences: Iterable[Occurrence], fixability: str = DEFAULT_FIXABILITY
) -> tuple[VulnerabilityFinding, ...]:
    """Findings of the VULNERABILITY occurrences among ``occurrences``, one per package."""
    return tuple(
        f
        for o in occurrences
        if o.kind.name == "VULNERABILITY"
        for f in occurrence_findings(o, fixability)
    )


def latest_discovery(occurrences: Iterable[Occurrence]) -> Occurrence | None:
    """The most recently updated DISCOVERY occurrence, if any."""
    found = [o for o in occurrences if o.kind.name == "DISCOVERY"]
    return max(found, key=_updated, default=None)


def _updated(occurrence: Occurrence) -> float:
    when: Any = occurrence.update_time or occurrence.create_time  # a datetime at run time
    return float(when.timestamp()) if when else 0.0


def discovery_status(discovery: Occurrence) -> tuple[str, str]:
    """``(status, reason)`` of a DISCOVERY occurrence, status as the input schema names it."""
    d = discovery.discovery
    reasons = [d.analysis_status_error.message, *(e.message for e in d.analysis_error)]
    reason = "; ".join(dict.fromkeys(str(r) for r in reasons if r))
    status = getattr(d.analysis_status, "name", "")
    if status == "COMPLETE":  # an alias of FINISHED_SUCCESS
        status = "FINISHED_SUCCESS"
    if status not in {
        "PENDING",
        "SCANNING",
        "FINISHED_SUCCESS",
        "FINISHED_FAILED",
        "FINISHED_UNSUPPORTED",
    }:
        return "PENDING", f"analysis status {status or 'unset'}, treated as not finished"
    return status, reason
