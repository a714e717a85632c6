"""Artifact Analysis results as JSON files: what gcloud prints, and Grafeas occurrences.

Read, all through the same Grafeas v1 conversion as the live source
(:mod:`gate.facts.scans.occurrences`):

- ``gcloud artifacts docker images describe IMAGE --show-package-vulnerability
  --format=json``: ``image_summary``, ``discovery_summary.discovery`` (the DISCOVERY
  occurrence: the analysis status) and ``package_vulnerability_summary.vulnerabilities``
  (VULNERABILITY occurrences grouped by severity; the occurrences' own severities count).
  Without a ``discovery_summary`` the scan status is MISSING.
- A v1 occurrence, a list of them, or a ``ListOccurrencesResponse`` (``occurrences``).
  Without a DISCOVERY occurrence among them such a file carries no analysis status and,
  like a Trivy or Grype report, is taken as a finished scan.
- An occurrence in the older v1beta1 shape (``resource.uri``, package issues with
  ``affectedLocation``/``fixedLocation``, often no severity: ``UNSPECIFIED``).

Which image a describe report is about: ``image_summary.digest``, the manifest digest
gcloud resolved IMAGE to and always prints in full. An occurrence whose ``resourceUri``
names a different well-formed digest makes the report inconsistent, and it is refused;
a malformed digest there (the DefectDojo sample's ``sha256:deadbeef000…``, 42 characters)
names no image and is ignored. Other files are about the one well-formed digest their
resource URIs name, if any.

    >>> doc = {"image_summary": {"digest": "sha256:" + "d" * 64,
    ...     "fully_qualified_digest": "us-docker.pkg.dev/p/r/app@sha256:" + "d" * 64},
    ...     "discovery_summary": {"discovery": [{"kind": "DISCOVERY",
    ...         "discovery": {"analysisStatus": "FINISHED_SUCCESS"}}]},
    ...     "package_vulnerability_summary": {"vulnerabilities": {"LOW": [{"kind": "VULNERABILITY",
    ...         "noteName": "projects/goog-vulnz/notes/CVE-2024-1", "vulnerability": {
    ...         "effectiveSeverity": "LOW", "packageIssue": [{"affectedPackage": "zlib"}]}}]}}}
    >>> result = parse_gcloud(doc)
    >>> result.status, [(f.id, f.effective_severity, f.fixable) for f in result.findings]
    ('FINISHED_SUCCESS', [('CVE-2024-1', 'LOW', False)])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grafeas.grafeas_v1 import Occurrence

from gate.facts import ShapeError, arr, obj, text
from gate.facts.scans import occurrences as occ
from gate.facts.scans.interface import ScanError, ScanResult, read_report

GCLOUD_HINT = (
    "pass the JSON of `gcloud artifacts docker images describe IMAGE@sha256:… "
    "--show-package-vulnerability --format=json`, or Grafeas occurrences"
)
_SUMMARY_KEYS = ("image_summary", "discovery_summary", "package_vulnerability_summary")


def is_gcloud_report(doc: Any) -> bool:
    """Whether ``doc`` is gcloud describe JSON, or Grafeas occurrence(s) (v1 or v1beta1)."""
    if isinstance(doc, dict):
        return any(k in doc for k in _SUMMARY_KEYS) or "occurrences" in doc or _is_occurrence(doc)
    return isinstance(doc, list) and bool(doc) and all(_is_occurrence(o) for o in doc)


def load_gcloud(path: str | Path, fixability: str = occ.DEFAULT_FIXABILITY) -> ScanResult:
    """Read and normalise a file of any format above; :class:`ScanError` on any defect."""
    return parse_gcloud(read_report(path), origin=str(path), fixability=fixability)


def parse_gcloud(
    doc: Any, *, origin: str = "gcloud report", fixability: str = occ.DEFAULT_FIXABILITY
) -> ScanResult:
    """Normalise a decoded report; :class:`ScanError` on any defect."""
    if not is_gcloud_report(doc):
        raise ScanError(f"{origin}: not gcloud or Grafeas occurrence JSON", hint=GCLOUD_HINT)
    try:
        return _result(doc, origin, fixability)
    except ShapeError as exc:
        raise ScanError(f"{origin}: not a usable report: {exc}", hint=GCLOUD_HINT) from exc


def occurrences_of(doc: Any) -> list[Occurrence]:
    """Every occurrence in a report, as Grafeas v1 messages (v1beta1 ones converted)."""
    if isinstance(doc, list):
        raws = doc
    elif "occurrences" in doc:
        raws = arr(doc["occurrences"], "occurrences", nullable=True)
    elif any(k in doc for k in _SUMMARY_KEYS):
        discovery = obj(doc.get("discovery_summary") or {}, "discovery_summary")
        raws = list(arr(discovery.get("discovery"), "discovery_summary.discovery", nullable=True))
        where = "package_vulnerability_summary"
        summary = obj(doc.get("package_vulnerability_summary") or {}, where)
        groups = obj(summary.get("vulnerabilities") or {}, f"{where}.vulnerabilities")
        for severity, group in groups.items():
            raws += arr(group, f"{where}.vulnerabilities.{severity}", nullable=True)
    else:
        raws = [doc]
    return [occ.occurrence_from_json(_as_v1(o), f"occurrence[{i}]") for i, o in enumerate(raws)]


def _result(doc: Any, origin: str, fixability: str) -> ScanResult:
    found = occurrences_of(doc)
    named = list(dict.fromkeys(d for o in found if (d := occ.resource_digest(o.resource_uri))))
    describe = isinstance(doc, dict) and any(k in doc for k in _SUMMARY_KEYS)
    digests: tuple[str, ...]
    if describe:
        image = obj(doc.get("image_summary"), "image_summary")
        digest = text(image.get("digest"), "image_summary.digest")
        if occ.resource_digest(f"@{digest}") != digest:
            raise ShapeError(f"image_summary.digest: {digest!r} is not a sha256/sha512 digest")
        others = [d for d in named if d != digest]
        if others:
            raise ScanError(
                f"{origin}: the report is about {digest} but has occurrences of {others[0]}",
                hint="describe the image by digest and pass that report unchanged",
            )
        qualified = text(
            image.get("fully_qualified_digest", ""), "image_summary.fully_qualified_digest"
        )
        artifact, digests = f"{qualified.rpartition('@')[0] or qualified}@{digest}", (digest,)
    else:
        if len(named) > 1:
            raise ScanError(
                f"{origin}: occurrences of several images: {', '.join(named)}",
                hint="pass the occurrences of one image",
            )
        artifact, digests = (
            next((o.resource_uri for o in found if o.resource_uri), ""),
            tuple(named),
        )
    status, detail = _status(found, describe)
    findings = occ.findings(found, fixability)
    return ScanResult(
        source="artifact-analysis",
        findings=findings,
        digests=digests,
        artifact=artifact,
        status=status,
        detail=detail or f"{len(findings)} finding(s) in {origin}",
    )


def _status(found: list[Occurrence], describe: bool) -> tuple[str, str]:
    discovery = occ.latest_discovery(found)
    if discovery is None:
        if describe:
            return "MISSING", "the report has no discovery occurrence: the image was not scanned"
        return "FINISHED_SUCCESS", ""
    status, reason = occ.discovery_status(discovery)
    return status, (f"{status}: {reason}" if reason else "")


def _is_occurrence(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "kind" in doc
        and any(
            k in doc for k in ("noteName", "note_name", "resourceUri", "resource_uri", "resource")
        )
    )


def _as_v1(raw: Any) -> Any:
    """A v1beta1 occurrence rewritten in v1 terms (a v1 one is returned as it is)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("resource"), dict):
        return raw
    v1 = {k: v for k, v in raw.items() if k != "resource"}
    v1["resourceUri"] = raw["resource"].get("uri", "")
    vulnerability = dict(obj(raw.get("vulnerability") or {}, "vulnerability"))
    issues = vulnerability.pop("packageIssue", None) or vulnerability.pop("package_issue", None)
    v1["vulnerability"] = {**vulnerability, "packageIssue": [_issue_v1(i) for i in issues or []]}
    return v1


def _issue_v1(raw: Any) -> dict[str, Any]:
    issue = obj(raw, "packageIssue")
    issue_v1 = {k: v for k, v in issue.items() if "location" not in k.lower()}
    for side in ("affected", "fixed"):
        location = issue.get(f"{side}Location") or issue.get(f"{side}_location") or {}
        location = obj(location, f"packageIssue.{side}Location")
        for key, value in (
            ("CpeUri", location.get("cpeUri", location.get("cpe_uri"))),
            ("Package", location.get("package")),
            ("Version", location.get("version")),
        ):
            if value is not None:
                issue_v1[f"{side}{key}"] = value
    return issue_v1
