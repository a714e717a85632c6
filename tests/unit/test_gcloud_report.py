"""gcloud describe JSON and Grafeas occurrence JSON (v1, v1beta1) as scan results."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.facts.scans import occurrences as occ
from gate.facts.scans.gcloud import is_gcloud_report, load_gcloud, occurrences_of, parse_gcloud
from gate.facts.scans.grype import is_grype_report
from gate.facts.scans.interface import ScanError
from gate.facts.scans.trivy import is_trivy_report
from tests.conftest import REPO_ROOT

FULL = "sha256:d2eecb48a0d1c6be1ec96d2d0a52c3b95936c4cdde2208299c04d6106b769658"
PLACEHOLDER = "sha256:deadbeef0000000000000000000000000000000000"
OTHER = "sha256:" + "1" * 64


@pytest.fixture
def describe_path(fixtures_dir: Path) -> Path:
    return fixtures_dir / "grafeas" / "gcloud-artifacts-describe-go-stdlib-critical.json"


@pytest.fixture
def describe(describe_path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(describe_path.read_text())
    return doc


@pytest.fixture
def v1beta1(fixtures_dir: Path) -> dict[str, Any]:
    path = fixtures_dir / "grafeas" / "grafeas-v1beta1-vulnerability-occurrence-example.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.mark.parametrize("fixability", ["any", "all"])
def test_describe_fixture_counts(describe_path: Path, fixability: str) -> None:
    result = load_gcloud(describe_path, fixability)
    assert (result.source, result.status) == ("artifact-analysis", "FINISHED_SUCCESS")
    assert result.counts() == Counter({("CRITICAL", True): 6, ("HIGH", True): 1})
    assert sorted(f.id for f in result.findings) == [
        "CVE-2022-23806",
        "CVE-2022-41715",
        "CVE-2023-24538",
        "CVE-2023-24540",
        "CVE-2023-29402",
        "CVE-2023-29404",
        "CVE-2023-29405",
    ]
    assert {(f.package, f.package_type, f.installed_version) for f in result.findings} == {
        ("go", "GO_STDLIB", "1.17.6")
    }
    assert sorted(f.cvss or 0 for f in result.findings) == [7.5, 9.1, 9.8, 9.8, 9.8, 9.8, 9.8]
    by_id = {f.id: f for f in result.findings}
    assert (by_id["CVE-2022-23806"].fixed_version, by_id["CVE-2022-41715"].severity) == (
        "1.17.7",
        "HIGH",
    )


def test_describe_is_about_the_image_summary_digest(describe_path: Path) -> None:
    result = load_gcloud(describe_path)
    assert result.digests == (FULL,) and result.is_about(FULL)
    assert not result.is_about(PLACEHOLDER)
    assert (
        result.artifact
        == f"northamerica-northeast1-docker.pkg.dev/testing/test-docker/test-image@{FULL}"
    )
    result.ensure_about(FULL, strict=True)
    with pytest.raises(ScanError, match="not about sha256:1111"):
        result.ensure_about(OTHER)


def test_describe_result_fits_the_input_schema(describe_path: Path) -> None:
    schema = json.loads((REPO_ROOT / "gate/schema/input.schema.json").read_text())
    document = load_gcloud(describe_path).to_input()
    jsonschema.validate(document, {"$defs": schema["$defs"], "$ref": "#/$defs/vulnerabilities"})
    assert document["scan"]["status"] == "FINISHED_SUCCESS"


def test_occurrence_of_another_well_formed_digest_is_refused(describe: dict[str, Any]) -> None:
    group = describe["package_vulnerability_summary"]["vulnerabilities"]["HIGH"]
    group[0]["resourceUri"] = group[0]["resourceUri"].replace(PLACEHOLDER, OTHER)
    with pytest.raises(ScanError, match=f"about {FULL} but has occurrences of {OTHER}"):
        parse_gcloud(describe)


def test_malformed_image_summary_digest_is_refused(describe: dict[str, Any]) -> None:
    describe["image_summary"]["digest"] = PLACEHOLDER
    with pytest.raises(ScanError, match="not a sha256/sha512 digest"):
        parse_gcloud(describe)


def test_describe_without_discovery_is_missing(describe: dict[str, Any]) -> None:
    del describe["discovery_summary"]
    result = parse_gcloud(describe)
    assert result.status == "MISSING" and len(result.findings) == 7


def test_describe_unsupported_scan(describe: dict[str, Any]) -> None:
    discovery = describe["discovery_summary"]["discovery"][0]["discovery"]
    discovery["analysisStatus"] = "FINISHED_UNSUPPORTED"
    discovery["analysisStatusError"] = {"code": 9, "message": "unsupported base image"}
    result = parse_gcloud(describe)
    assert result.status == "FINISHED_UNSUPPORTED" and "unsupported base image" in result.detail


def test_v1beta1_fixture(v1beta1: dict[str, Any]) -> None:
    result = parse_gcloud(v1beta1)
    assert result.counts() == Counter({("UNSPECIFIED", True): 1})
    [f] = result.findings
    assert (f.id, f.severity, f.effective_severity, f.cvss) == (
        "exampleVulnerabilityNote",
        "UNSPECIFIED",
        "UNSPECIFIED",
        None,
    )
    assert (f.package, f.installed_version, f.fixed_version) == ("a", "v1.1.1-r", "namestring-1")
    assert (result.digests, result.image_id) == ((), None)  # "sha256:foo" names no image
    assert result.status == "FINISHED_SUCCESS"


def test_v1beta1_maximum_version_means_no_fix(v1beta1: dict[str, Any]) -> None:
    v1beta1["vulnerability"]["packageIssue"][0]["fixedLocation"]["version"] = {"kind": "MAXIMUM"}
    v1beta1["vulnerability"]["severity"] = "HIGH"
    assert parse_gcloud(v1beta1).counts() == Counter({("HIGH", False): 1})


def test_occurrence_lists_and_list_responses(describe: dict[str, Any]) -> None:
    vulns = describe["package_vulnerability_summary"]["vulnerabilities"]
    flat = [copy.deepcopy(o) for group in vulns.values() for o in group]
    for o in flat:
        o["resourceUri"] = o["resourceUri"].replace(PLACEHOLDER, OTHER)
    for doc in (flat, {"occurrences": flat, "nextPageToken": ""}):
        result = parse_gcloud(doc)
        assert result.digests == (OTHER,) and len(result.findings) == 7
    flat[0]["resourceUri"] = flat[0]["resourceUri"].replace(OTHER, FULL)
    with pytest.raises(ScanError, match="several images"):
        parse_gcloud(flat)


def test_formats_are_told_apart(
    describe: dict[str, Any], v1beta1: dict[str, Any], fixtures_dir: Path
) -> None:
    docs: list[Any] = [describe, v1beta1, [v1beta1], {"occurrences": []}]
    for doc in docs:
        assert is_gcloud_report(doc) and not is_trivy_report(doc) and not is_grype_report(doc)
    for path in [*fixtures_dir.glob("trivy/*.json"), *fixtures_dir.glob("grype/*.json")]:
        assert not is_gcloud_report(json.loads(path.read_text())), path.name
    with pytest.raises(ScanError, match="not gcloud or Grafeas occurrence JSON"):
        parse_gcloud({"SchemaVersion": 2})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"image_summary": {"digest": FULL}, "discovery_summary": {"discovery": "x"}}, "a list"),
        (
            {
                "image_summary": {"digest": FULL},
                "package_vulnerability_summary": {
                    "vulnerabilities": {"LOW": [{"kind": ["VULNERABILITY"]}]}
                },
            },
            "not a Grafeas v1 occurrence",
        ),
        ({"discovery_summary": {}}, "image_summary: expected an object"),
    ],
)
def test_malformed_reports(doc: Any, message: str) -> None:
    with pytest.raises(ScanError, match=message) as caught:
        parse_gcloud(doc, origin="r.json")
    assert caught.value.message.startswith("r.json") and "gcloud artifacts" in caught.value.hint


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "cut.json").write_text('{"image_summary": {')
    with pytest.raises(ScanError, match="truncated"):
        load_gcloud(tmp_path / "cut.json")
    with pytest.raises(ScanError, match="cannot read"):
        load_gcloud(tmp_path / "absent.json")


def test_severity_version_and_id_rules() -> None:
    raw = {
        "kind": "VULNERABILITY",
        "noteName": "projects/goog-vulnz/notes/CVE-2020-1",
        "vulnerability": {
            "severity": "MEDIUM",
            "packageIssue": [
                {
                    "effectiveSeverity": "LOW",
                    "affectedVersion": {
                        "epoch": 1,
                        "name": "2.3",
                        "revision": "4",
                        "kind": "NORMAL",
                    },
                }
            ],
        },
    }
    f = occ.finding(occ.occurrence_from_json(raw))
    assert (f.severity, f.effective_severity, f.installed_version) == ("MEDIUM", "LOW", "1:2.3-4")
    assert (f.fixable, f.fixed_version, f.cvss) == (False, None, None)
    del raw["vulnerability"]["packageIssue"]  # type: ignore[attr-defined]
    f = occ.finding(occ.occurrence_from_json(raw))
    assert (f.effective_severity, f.package, f.fixable) == ("MEDIUM", "", False)
    assert occ.cve_id("projects/goog-vulnz/notes/CVE-2021-1234") == "CVE-2021-1234"
    assert occ.cve_id("GHSA-xxxx") == "GHSA-xxxx"


def test_every_package_issue_of_a_describe_report_is_a_finding(describe: dict[str, Any]) -> None:
    """gcloud prints the occurrence whole: a CVE in two Go binaries is two findings."""
    occurrence = describe["package_vulnerability_summary"]["vulnerabilities"]["CRITICAL"][0]
    go = occurrence["vulnerability"]["packageIssue"][0]
    other = json.loads(json.dumps(go))
    other["affectedPackage"] = "go-toolchain"
    other["affectedVersion"] = {"name": "1.19.2", "kind": "NORMAL"}
    other["fileLocation"] = [{"filePath": "/usr/local/go/bin/go"}]
    occurrence["vulnerability"]["packageIssue"].append(other)
    occurrence["vulnerability"]["packageIssue"].append(json.loads(json.dumps(go)))  # again
    result = parse_gcloud(describe)
    assert len(result.findings) == 8  # 7 CVEs, one of them in two packages
    mine = [f for f in result.findings if f.id == "CVE-2023-29405"]
    assert sorted((f.package, f.installed_version) for f in mine) == [
        ("go", "1.17.6"),
        ("go-toolchain", "1.19.2"),
    ]
    assert {f.fixed_version for f in mine} == {"1.19.10"}


def test_occurrences_of_gives_grafeas_messages(describe: dict[str, Any]) -> None:
    found = occurrences_of(describe)
    assert [o.kind.name for o in found].count("DISCOVERY") == 1 and len(found) == 8
    assert found[0].discovery.continuous_analysis.name == "ACTIVE"
