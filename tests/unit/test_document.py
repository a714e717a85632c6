"""Input documents built from real facts validate against the JSON Schema (gate.input/v1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from gate.errors import InputError
from gate.facts.interface import ImageFacts, Platform, copy_json
from gate.facts.metadata import load_metadata
from gate.facts.scans import ScanResult, VulnerabilityFinding, load_scan_report
from gate.policy.document import (
    ENTRY_POINTS,
    SCHEMA_VERSION,
    build_document,
    format_time,
    load_schema,
    validate_document,
)

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CONFIGS = [
    "oci/image-config-httpd-no-user-root.json",
    "oci/image-config-user-nova-redhat-labels.json",
    "oci/image-config-user-tomcat-healthcheck.json",
]
REPORTS = [
    "trivy/trivy-alpine-3.10-os-medium-all-fixed.json",
    "trivy/trivy-busybox-cargo-lang-pkgs-range-fixedversion.json",
    "trivy/trivy-debian-buster-critical-fixed-low-unfixed.json",
    "trivy/trivy-ubi7-os-will-not-fix-plus-python-high.json",
    "grype/grype-chainguard-ruby-apk-and-gem.json",
    "grype/grype-java-archive-fixed-and-unknown.json",
    "grype/grype-keycloak-rhel9-wont-fix.json",
]


def reference(digest: str | None = DIGEST, tag: str | None = "1.0") -> dict[str, Any]:
    """What ``ImageRef.to_input()`` returns, written by hand."""
    name = "us-docker.pkg.dev/acme/apps/web"
    normalized = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return {
        "original": normalized,
        "registry": "us-docker.pkg.dev",
        "repository": "acme/apps/web",
        "name": name,
        "tag": tag,
        "digest": digest,
        "normalized": normalized,
    }


WORKLOAD = {
    "namespace": "shop",
    "kind": "Deployment",
    "name": "web",
    "operation": "CREATE",
    "annotations": {"team": "payments"},
    "container": {
        "name": "web",
        "kind": "regular",
        "image": "us-docker.pkg.dev/acme/apps/web:1.0",
        "security_context": {"runAsNonRoot": True, "runAsUser": 65532},
    },
}


def test_schema_version_matches_the_schema() -> None:
    schema = load_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert tuple(schema["properties"]["entry_point"]["enum"]) == ENTRY_POINTS


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("report", REPORTS)
def test_documents_from_fixtures_validate(fixtures_dir: Path, config: str, report: str) -> None:
    facts = load_metadata(fixtures_dir / config)
    scan = load_scan_report(fixtures_dir / report)
    doc = build_document(reference(), entry_point="eval", facts=facts, scan=scan, now=NOW)
    validate_document(doc)
    assert doc["image"]["vulnerabilities"]["source"] == report.split("/")[0]
    assert len(doc["image"]["vulnerabilities"]["findings"]) == len(scan.findings)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_every_entry_point_validates(entry_point: str) -> None:
    workload = WORKLOAD if entry_point == "admission" else None
    for ref in (reference(), reference(digest=None), reference(digest=None, tag=None)):
        doc = build_document(ref, entry_point=entry_point, workload=workload, now=NOW)
        validate_document(doc)
        assert doc["image"] == {
            "reference": ref,
            "platforms": [],
            "vulnerabilities": None,
            "attestations": [],
            "provenance": [],
            "signatures": [],
            "unverified": [],
        }
        assert doc["workload"] == workload


def test_quick_start_sample_validates() -> None:
    facts = load_metadata(SAMPLES / "compliant-metadata.json")
    scan = load_scan_report(SAMPLES / "trivy-clean.json")
    digest = facts.platforms[0].manifest_digest
    assert digest is not None
    scan.ensure_about(digest, strict=True)
    doc = build_document(
        reference(digest=digest), entry_point="eval", facts=facts, scan=scan, now=NOW
    )
    validate_document(doc)
    assert doc["image"]["vulnerabilities"]["findings"] == []
    assert doc["image"]["platforms"][0]["config"]["user"] == "65532"


def test_scan_wins_over_metadata_vulnerabilities() -> None:
    finding = VulnerabilityFinding(
        id="CVE-2024-0001", severity="HIGH", effective_severity="HIGH", fixable=True,
        package="openssl", package_type="debian", installed_version="3.0.1",
        fixed_version="3.0.2", cvss=7.5,
    )  # fmt: skip
    from_metadata = ScanResult(source="metadata", findings=(finding,), detail="hand-written")
    facts = ImageFacts(vulnerabilities=from_metadata)
    doc = build_document(reference(), entry_point="eval", facts=facts, now=NOW)
    assert doc["image"]["vulnerabilities"]["source"] == "metadata"
    assert doc["image"]["vulnerabilities"]["scan"]["detail"] == "hand-written"
    scan = ScanResult(source="trivy", findings=(), scanner_version="0.58.1", artifact="web")
    doc = build_document(reference(), entry_point="eval", facts=facts, scan=scan, now=NOW)
    assert doc["image"]["vulnerabilities"] == {
        "source": "trivy",
        "scan": {
            "status": "FINISHED_SUCCESS",
            "detail": "trivy 0.58.1 report of web: 0 finding(s)",
        },
        "findings": [],
    }
    validate_document(doc)


def test_metadata_document_round_trip(tmp_path: Path) -> None:
    meta = {
        "platforms": [
            {
                "os": "linux",
                "architecture": "arm64",
                "variant": "v8",
                "manifest_digest": DIGEST,
                "media_type": "application/vnd.oci.image.manifest.v1+json",
                "config": {"config": {"User": "1000"}},
            }
        ],
        "vulnerabilities": {
            "source": "artifact-analysis",
            "scan": {"status": "SCANNING", "detail": "still scanning"},
            "findings": [],
        },
        "attestations": [
            {"attestor": "projects/p/attestors/a", "verified": False, "public_key_id": "k"}
        ],
    }
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    doc = build_document(reference(), entry_point="api", facts=load_metadata(path), now=NOW)
    validate_document(doc)
    assert doc["image"]["vulnerabilities"] == meta["vulnerabilities"]
    assert doc["image"]["attestations"] == meta["attestations"]


def test_document_does_not_alias_the_facts(fixtures_dir: Path) -> None:
    facts = load_metadata(fixtures_dir / CONFIGS[0])
    doc = build_document(reference(), entry_point="eval", facts=facts, now=NOW)
    doc["image"]["platforms"][0]["config"]["env"]["INJECTED"] = "1"
    again = build_document(reference(), entry_point="eval", facts=facts, now=NOW)
    assert "INJECTED" not in again["image"]["platforms"][0]["config"]["env"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (
            datetime(2026, 1, 2, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-01T23:00:00Z",
        ),
        (
            datetime(2026, 1, 1, 20, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-01-02T01:00:00Z",
        ),
    ],
)
def test_evaluated_at(when: datetime, expected: str) -> None:
    assert format_time(when) == expected
    assert build_document(reference(), entry_point="eval", now=when)["evaluated_at"] == expected


def test_evaluated_at_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = build_document(reference(), entry_point="eval")["evaluated_at"]
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= parsed <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entry_point": "cli"}, "entry_point must be one of"),
        ({"entry_point": "eval", "workload": WORKLOAD}, "only given at admission"),
        ({"entry_point": "eval", "now": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_misuse_is_a_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_document(reference(), **kwargs)


def test_incomplete_reference() -> None:
    ref = reference()
    del ref["normalized"], ref["tag"]
    with pytest.raises(ValueError, match="lacks tag, normalized"):
        build_document(ref, entry_point="eval", now=NOW)
    extra = {**reference(), "port": 443}
    assert "port" not in build_document(extra, entry_point="eval", now=NOW)["image"]["reference"]


def test_validate_document_names_every_problem() -> None:
    doc = build_document(reference(), entry_point="eval", now=NOW)
    doc["image"]["vulnerabilities"] = {
        "source": "trivy",
        "scan": {"status": "FINISHED_SUCCESS", "detail": ""},
        "findings": [{"id": "CVE-1", "severity": "SEVERE"}],
    }
    doc["evaluated_at"] = "yesterday"
    with pytest.raises(InputError) as err:
        validate_document(doc)
    message = err.value.message
    assert "evaluated_at: 'yesterday' does not match" in message
    assert "image.vulnerabilities" in message
    assert "docs/input.md" in err.value.hint


def test_validate_document_caps_the_list() -> None:
    doc = build_document(reference(), entry_point="eval", now=NOW)
    doc["image"]["attestations"] = [{"verified": "no"} for _ in range(30)]
    with pytest.raises(InputError, match=r"… and \d+ more"):
        validate_document(doc)


def test_large_document_validates() -> None:
    findings = tuple(
        VulnerabilityFinding(
            id=f"CVE-2024-{i:05d}",
            severity="LOW",
            effective_severity="LOW",
            fixable=bool(i % 2),
            package=f"p{i}",
            package_type="npm",
            installed_version="1",
            fixed_version=None,
            cvss=None,
        )
        for i in range(5000)
    )
    scan = ScanResult(source="grype", findings=findings)
    doc = build_document(reference(), entry_point="attest", scan=scan, now=NOW)
    assert len(doc["image"]["vulnerabilities"]["findings"]) == 5000
    validate_document(doc)


def test_the_document_is_a_copy_of_the_facts() -> None:
    """Whoever changes a document (a caller printing it, a test) leaves the facts alone,
    which the webhook's cache hands to the next review."""
    config = {"env": {"A": "1"}, "history": [{"created_by": "RUN x", "labels": ("a", 1)}]}
    attestation = {"predicate": {"builder": {"id": "b"}}, "list": [1, 2.5, None, True]}
    facts = ImageFacts(
        platforms=(Platform("linux", "amd64", "", None, None, config),),
        attestations=(attestation,),
    )
    doc = build_document(reference(), entry_point="attest", facts=facts)
    assert doc["image"]["platforms"][0]["config"] == config
    assert doc["image"]["attestations"] == [attestation]
    doc["image"]["platforms"][0]["config"]["env"]["A"] = "2"
    doc["image"]["platforms"][0]["config"]["history"].append({})
    doc["image"]["attestations"][0]["predicate"]["builder"]["id"] = "other"
    doc["image"]["attestations"][0]["list"].clear()
    assert config == {"env": {"A": "1"}, "history": [{"created_by": "RUN x", "labels": ("a", 1)}]}
    assert attestation == {"predicate": {"builder": {"id": "b"}}, "list": [1, 2.5, None, True]}


def test_copy_json_copies_every_container_and_keeps_scalars() -> None:
    """Mappings of any kind become dicts and lists new lists; scalars are shared (they
    cannot change); anything else is deep-copied."""
    shared = ("a", ["b"])
    value = {"m": MappingProxyType({"k": [1, {"n": None}]}), "s": "x", "t": shared, "f": 2.5}
    copied = copy_json(value)
    assert copied == {"m": {"k": [1, {"n": None}]}, "s": "x", "t": shared, "f": 2.5}
    assert type(copied["m"]) is dict
    assert copied["m"]["k"] is not value["m"]["k"]
    assert copied["m"]["k"][1] is not value["m"]["k"][1]
    assert copied["t"] is not shared and copied["t"][1] is not shared[1]
    assert copied["s"] is value["s"]
