"""The vulnerability-source contract: one method, frozen results, one error family.

A :class:`ScanSource` turns an image into a :class:`ScanResult`: the findings in the
input schema's shape plus the digests the report says it is about, so a caller can
refuse a report about another image. Backends (Trivy and Grype JSON reports, Artifact
Analysis) translate their own failures into :class:`ScanError` at the boundary.

    >>> f = VulnerabilityFinding(id="CVE-2019-18224", severity="CRITICAL",
    ...     effective_severity="CRITICAL", fixable=True, package="libidn2-0",
    ...     package_type="debian", installed_version="2.0.5-1",
    ...     fixed_version="2.0.5-1+deb10u1", cvss=9.8)
    >>> result = ScanResult(source="trivy", findings=(f,), digests=("sha256:" + "a" * 64,))
    >>> result.to_input()["findings"][0]["effective_severity"]
    'CRITICAL'
    >>> result.is_about("sha256:" + "b" * 64)
    False
"""

from __future__ import annotations

import abc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import GateError
from gate.facts import (
    ShapeError,
    arr,
    flag,
    number,
    obj,
    only_keys,
    opt_text,
    parse_json,
    read_bytes,
    text,
)

SEVERITIES = ("UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""The input schema's severities, lowest first (Grafeas' names)."""

SOURCES = ("trivy", "grype", "artifact-analysis", "metadata")
SCAN_STATUSES = (
    "FINISHED_SUCCESS",
    "PENDING",
    "SCANNING",
    "FINISHED_FAILED",
    "FINISHED_UNSUPPORTED",
    "MISSING",
)


REPORT_HINT = (
    "pass the JSON of `trivy image --format json` (Trivy 0.20+), `grype -o json`, or "
    "`gcloud artifacts docker images describe --show-package-vulnerability --format=json`"
)


class ScanError(GateError):
    """A vulnerability report that cannot be read, or a scan that cannot be obtained."""

    kind = "scan"


def read_report(path: str | Path) -> Any:
    """The decoded JSON of a report file; :class:`ScanError` if unreadable or not JSON."""
    try:
        return parse_json(read_bytes(path))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScanError(f"cannot read scan report {path}: {reason}", hint="check the path") from exc
    except ValueError as exc:
        raise ScanError(f"scan report {path}: {exc}", hint=REPORT_HINT) from exc


def digest_after_at(repo_digest: str) -> str | None:
    """``sha256:…`` from ``repo@sha256:…`` (``None`` when there is no ``@``)."""
    _, at, digest = repo_digest.rpartition("@")
    return digest if at and digest else None


@dataclass(frozen=True)
class VulnerabilityFinding:
    """One vulnerability in one package: the schema's ``finding`` object."""

    id: str
    severity: str
    effective_severity: str
    fixable: bool
    package: str
    package_type: str
    installed_version: str
    fixed_version: str | None
    cvss: float | None
    aliases: tuple[str, ...] = ()

    def to_input(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "severity": self.severity,
            "effective_severity": self.effective_severity,
            "fixable": self.fixable,
            "package": self.package,
            "package_type": self.package_type,
            "installed_version": self.installed_version,
            "fixed_version": self.fixed_version,
            "cvss": self.cvss,
        }

    @classmethod
    def from_input(cls, raw: Any, where: str) -> VulnerabilityFinding:
        """Read a schema ``finding`` object; :class:`ShapeError` naming ``where`` if wrong."""
        item = obj(raw, where)
        only_keys(item, set(cls.__dataclass_fields__), where)
        aliases = arr(item.get("aliases"), f"{where}.aliases", nullable=True)
        return cls(
            id=text(item.get("id"), f"{where}.id"),
            aliases=tuple(text(a, f"{where}.aliases[{i}]") for i, a in enumerate(aliases)),
            severity=severity(item.get("severity"), f"{where}.severity"),
            effective_severity=severity(
                item.get("effective_severity"), f"{where}.effective_severity"
            ),
            fixable=flag(item.get("fixable"), f"{where}.fixable"),
            package=text(item.get("package"), f"{where}.package"),
            package_type=text(item.get("package_type"), f"{where}.package_type"),
            installed_version=text(item.get("installed_version"), f"{where}.installed_version"),
            fixed_version=opt_text(item.get("fixed_version"), f"{where}.fixed_version"),
            cvss=number(item.get("cvss"), f"{where}.cvss"),
        )


def severity(value: Any, where: str) -> str:
    """``value`` if it is one of :data:`SEVERITIES`."""
    if value not in SEVERITIES:
        raise ShapeError(f"{where}: expected one of {', '.join(SEVERITIES)}, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class ScanResult:
    """A vulnerability report about one image, normalised.

    ``digests`` are the manifest digests the report names (``repo@sha256:…`` entries and
    the manifest digest); ``image_id`` is the image config digest. Both are empty when
    the report does not say (e.g. a scan of a ``docker save`` tarball).
    """

    source: str
    findings: tuple[VulnerabilityFinding, ...]
    digests: tuple[str, ...] = ()
    image_id: str | None = None
    artifact: str = ""
    status: str = "FINISHED_SUCCESS"
    detail: str = ""
    scanner_version: str = ""

    def is_about(self, digest: str) -> bool:
        """Whether ``digest`` is a manifest (or index) digest or the config digest named here."""
        return digest in self.digests or digest == self.image_id

    def ensure_about(
        self, digest: str, *, config_digest: str | None = None, strict: bool = False
    ) -> None:
        """Refuse a report about another image than ``digest`` (its config: ``config_digest``).

        A report that names manifest digests must name ``digest`` (or ``config_digest``
        must be its ``image_id``); one that names only a config digest is compared with
        ``config_digest`` when given. A report that cannot be compared passes unless
        ``strict``.
        """
        if self.is_about(digest) or (config_digest and self.is_about(config_digest)):
            return
        comparable = bool(self.digests) or bool(self.image_id and config_digest)
        if not comparable and not strict:
            return
        named = ", ".join([*self.digests, *([self.image_id] if self.image_id else [])])
        about = f"about {named}" if comparable else "not matchable (it names no manifest digest)"
        raise ScanError(
            f"the {self.source} report is {about}, so not about {digest}",
            hint="scan the image by digest (e.g. trivy image REPO@sha256:…) and pass that report",
        )

    def counts(self) -> Counter[tuple[str, bool]]:
        """Findings by (effective_severity, fixable)."""
        return Counter((f.effective_severity, f.fixable) for f in self.findings)

    def to_input(self) -> dict[str, Any]:
        """The schema's ``vulnerabilities`` object."""
        return {
            "source": self.source,
            "scan": {"status": self.status, "detail": self.detail or self.summary()},
            "findings": [finding.to_input() for finding in self.findings],
        }

    def summary(self) -> str:
        scanner = f"{self.source} {self.scanner_version}".strip()
        about = f" of {self.artifact}" if self.artifact else ""
        return f"{scanner} report{about}: {len(self.findings)} finding(s)"

    @classmethod
    def from_input(cls, raw: Any, where: str = "vulnerabilities") -> ScanResult:
        """Read a schema ``vulnerabilities`` object (as given in a metadata document)."""
        item = obj(raw, where)
        only_keys(item, {"source", "scan", "findings"}, where)
        source = text(item.get("source"), f"{where}.source")
        if source not in SOURCES:
            raise ShapeError(f"{where}.source: expected one of {', '.join(SOURCES)}")
        scan = obj(item.get("scan"), f"{where}.scan")
        only_keys(scan, {"status", "detail"}, f"{where}.scan")
        status = text(scan.get("status"), f"{where}.scan.status")
        if status not in SCAN_STATUSES:
            raise ShapeError(f"{where}.scan.status: expected one of {', '.join(SCAN_STATUSES)}")
        findings = arr(item.get("findings"), f"{where}.findings")
        return cls(
            source=source,
            status=status,
            detail=text(scan.get("detail"), f"{where}.scan.detail"),
            findings=tuple(
                VulnerabilityFinding.from_input(f, f"{where}.findings[{i}]")
                for i, f in enumerate(findings)
            ),
        )


class ScanSource(abc.ABC):
    """Where gate gets an image's vulnerabilities from."""

    name = "scan source"

    @abc.abstractmethod
    def scan(self, image: str) -> ScanResult:
        """Vulnerabilities of ``image`` (``registry/repository@sha256:…``).

        Raises :class:`ScanError` when no usable result can be had.
        """
