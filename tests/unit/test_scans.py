"""Trivy and Grype reports: every real fixture normalises; broken reports are ScanErrors."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.facts.scans import (
    ReportFile,
    ScanError,
    ScanResult,
    load_scan_report,
    parse_scan_report,
)
from gate.facts.scans.grype import parse_grype
from gate.facts.scans.trivy import parse_trivy

# (effective_severity, fixable) -> count, counted by hand in each fixture file.
EXPECTED: dict[str, dict[tuple[str, bool], int]] = {
    "trivy/trivy-alpine-3.10-os-medium-all-fixed.json": {("MEDIUM", True): 4},
    "trivy/trivy-debian-buster-critical-fixed-low-unfixed.json": {
        ("CRITICAL", True): 1,
        ("LOW", False): 1,
    },
    "trivy/trivy-busybox-cargo-lang-pkgs-range-fixedversion.json": {
        ("HIGH", True): 1,
        ("MEDIUM", True): 1,
    },
    "trivy/trivy-ubi7-os-will-not-fix-plus-python-high.json": {
        ("LOW", False): 1,
        ("HIGH", True): 1,
    },
    "grype/grype-chainguard-ruby-apk-and-gem.json": {("HIGH", True): 2, ("HIGH", False): 1},
    "grype/grype-keycloak-rhel9-wont-fix.json": {("LOW", False): 6},
    "grype/grype-java-archive-fixed-and-unknown.json": {("MEDIUM", True): 1, ("MEDIUM", False): 1},
}
DIGEST_A = "sha256:" + "a" * 64
KEYCLOAK_DIGEST = "sha256:347a0d748d05a050dc64b92de2246d2240db6eb38afbc17c3c08d0acb0db1b50"
JAVA_DIGEST = "sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da"


def by_id(result: ScanResult, package: str) -> dict[str, Any]:
    return {f.id: f for f in result.findings if f.package == package}


def test_every_fixture_report_is_covered(fixtures_dir: Path) -> None:
    on_disk = {
        str(p.relative_to(fixtures_dir))
        for d in ("trivy", "grype")
        for p in (fixtures_dir / d).glob("*.json")
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts_by_severity_and_fixability(fixtures_dir: Path, name: str) -> None:
    result = load_scan_report(fixtures_dir / name)
    assert result.source == name.split("/")[0]
    assert result.counts() == Counter(EXPECTED[name])
    for finding in result.findings:
        assert finding.fixable == (finding.fixed_version is not None)
    out = result.to_input()
    assert out["scan"]["status"] == "FINISHED_SUCCESS"
    assert f"{len(result.findings)} finding(s)" in out["scan"]["detail"]
    json.dumps(out, allow_nan=False)


def test_debian_buster_details(fixtures_dir: Path) -> None:
    result = load_scan_report(
        fixtures_dir / "trivy/trivy-debian-buster-critical-fixed-low-unfixed.json"
    )
    libidn = by_id(result, "libidn2-0")["CVE-2019-18224"]
    assert (libidn.severity, libidn.effective_severity, libidn.fixable) == (
        "CRITICAL",
        "CRITICAL",
        True,
    )
    assert (libidn.fixed_version, libidn.cvss, libidn.aliases) == (
        "2.0.5-1+deb10u1",
        9.8,
        ("DSA-4613-1",),
    )
    assert libidn.package_type == "debian"
    bash = by_id(result, "bash")["CVE-2019-18276"]
    # Debian rates it LOW (Trivy's Severity, SeveritySource debian); NVD says HIGH.
    assert (bash.severity, bash.effective_severity) == ("HIGH", "LOW")
    assert (bash.fixable, bash.fixed_version, bash.cvss) == (False, None, 7.8)
    assert (
        result.image_id == "sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1"
    )
    assert result.digests == ()  # scanned from a tarball: no registry digest
    assert result.artifact == "testdata/fixtures/images/debian-buster.tar.gz"


def test_trivy_will_not_fix_and_language_package(fixtures_dir: Path) -> None:
    result = load_scan_report(
        fixtures_dir / "trivy/trivy-ubi7-os-will-not-fix-plus-python-high.json"
    )
    bash = by_id(result, "bash")["CVE-2019-18276"]
    assert (bash.effective_severity, bash.fixable, bash.package_type) == ("LOW", False, "redhat")
    setuptools = by_id(result, "setuptools")["CVE-2022-40897"]
    assert (setuptools.effective_severity, setuptools.severity) == ("HIGH", "MEDIUM")
    assert (setuptools.package_type, setuptools.fixed_version) == ("python-pkg", "65.5.1")
    assert setuptools.cvss == 5.9


def test_trivy_range_fixed_version_kept_verbatim(fixtures_dir: Path) -> None:
    result = load_scan_report(
        fixtures_dir / "trivy/trivy-busybox-cargo-lang-pkgs-range-fixedversion.json"
    )
    ammonia = by_id(result, "ammonia")
    assert ammonia["CVE-2021-38193"].fixed_version == ">= 3.1.0, >= 2.1.3, < 3.0.0"
    assert {f.package_type for f in result.findings} == {"cargo"}
    assert [f.cvss for f in result.findings] == [7.5, 6.1]


def test_trivy_alpine_same_cve_in_two_packages(fixtures_dir: Path) -> None:
    result = load_scan_report(fixtures_dir / "trivy/trivy-alpine-3.10-os-medium-all-fixed.json")
    pairs = sorted((f.id, f.package) for f in result.findings)
    assert pairs == [
        ("CVE-2019-1549", "libcrypto1.1"),
        ("CVE-2019-1549", "libssl1.1"),
        ("CVE-2019-1551", "libcrypto1.1"),
        ("CVE-2019-1551", "libssl1.1"),
    ]
    assert {f.cvss for f in result.findings} == {5.3}  # NVD's v3 score, not Red Hat's 4.8


def test_grype_keycloak_wont_fix(fixtures_dir: Path) -> None:
    result = load_scan_report(fixtures_dir / "grype/grype-keycloak-rhel9-wont-fix.json")
    assert {f.id for f in result.findings} == {"CVE-2020-12413"}
    assert {(f.severity, f.effective_severity, f.cvss) for f in result.findings} == {
        ("MEDIUM", "LOW", 5.9)
    }
    assert all(f.aliases == () and f.package_type == "rpm" for f in result.findings)
    assert KEYCLOAK_DIGEST in result.digests
    assert (
        result.image_id == "sha256:8cf8fd2be2ded92962d52adff75ad06a4c30f69c66facbdf223364c6c9e33b8c"
    )
    assert result.scanner_version == "0.66.0"


def test_grype_chainguard_aliases_and_related_cvss(fixtures_dir: Path) -> None:
    result = load_scan_report(fixtures_dir / "grype/grype-chainguard-ruby-apk-and-gem.json")
    apk = by_id(result, "ruby-3.0")["CVE-2023-28755"]
    assert (apk.fixable, apk.fixed_version, apk.package_type, apk.cvss) == (
        True,
        "3.0.6-r0",
        "apk",
        7.5,
    )
    gem = by_id(result, "uri")
    assert (gem["CVE-2023-28755"].fixable, gem["CVE-2023-28755"].fixed_version) == (False, None)
    ghsa = gem["GHSA-hv5j-3h9f-99c2"]
    assert (ghsa.aliases, ghsa.fixable, ghsa.fixed_version) == (("CVE-2023-28755",), True, "0.10.2")


def test_grype_java_cvss_v2_only_and_digest(fixtures_dir: Path) -> None:
    result = load_scan_report(fixtures_dir / "grype/grype-java-archive-fixed-and-unknown.json")
    assert {f.cvss for f in result.findings} == {5.8}
    assert result.is_about(JAVA_DIGEST)
    result.ensure_about(JAVA_DIGEST, strict=True)
    with pytest.raises(ScanError, match="so not about sha256:aaaa"):
        result.ensure_about(DIGEST_A)
    # The config digest is accepted in place of a manifest digest.
    result.ensure_about(DIGEST_A, config_digest=result.image_id)


def test_config_digest_only_reports(fixtures_dir: Path) -> None:
    result = load_scan_report(fixtures_dir / "trivy/trivy-alpine-3.10-os-medium-all-fixed.json")
    image_id = "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"
    assert result.image_id == image_id and result.digests == ()
    result.ensure_about(DIGEST_A)  # cannot compare: passes unless strict
    result.ensure_about(DIGEST_A, config_digest=image_id, strict=True)
    with pytest.raises(ScanError, match=f"report is about {image_id}"):
        result.ensure_about(DIGEST_A, config_digest="sha256:" + "b" * 64)
    with pytest.raises(ScanError, match="names no manifest digest"):
        result.ensure_about(DIGEST_A, strict=True)


def test_report_file_source_checks_the_digest(fixtures_dir: Path) -> None:
    keycloak = ReportFile(fixtures_dir / "grype/grype-keycloak-rhel9-wont-fix.json")
    assert len(keycloak.scan(f"docker.io/keycloak/keycloak@{KEYCLOAK_DIGEST}").findings) == 6
    with pytest.raises(ScanError, match="report is about") as err:
        keycloak.scan(f"docker.io/keycloak/keycloak@{DIGEST_A}")
    assert "scan the image by digest" in err.value.hint
    tarball = fixtures_dir / "trivy/trivy-debian-buster-critical-fixed-low-unfixed.json"
    assert len(ReportFile(tarball).scan(f"ghcr.io/x/y@{DIGEST_A}").findings) == 2
    with pytest.raises(ScanError, match="names no manifest digest"):
        ReportFile(tarball, strict=True).scan(f"ghcr.io/x/y@{DIGEST_A}")
    with pytest.raises(ScanError, match="has no digest"):
        ReportFile(tarball, strict=True).scan("ghcr.io/x/y:1.0")
    # The config digest (Trivy's ImageID) identifies the image too.
    image_id = "sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1"
    assert ReportFile(tarball, strict=True).scan(f"ghcr.io/x/y@{image_id}").source == "trivy"


def test_clean_sample_names_its_digest() -> None:
    sample = Path(__file__).resolve().parents[2] / "samples" / "trivy-clean.json"
    result = load_scan_report(sample)
    assert result.findings == ()
    assert len(result.digests) == 1
    result.ensure_about(result.digests[0], strict=True)


# --- broken input -------------------------------------------------------------------------


def write(tmp_path: Path, content: str | bytes, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def trivy_doc(vulns: list[dict[str, Any]] | None = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "SchemaVersion": 2,
        "ArtifactName": "img",
        "ArtifactType": "container_image",
        "Results": [
            {"Target": "t", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}
        ],
    }
    return {**doc, **top}


def trivy_vuln(i: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "VulnerabilityID": f"CVE-2024-{i:05d}",
        "PkgName": f"pkg{i % 50}",
        "InstalledVersion": "1.0",
        "Severity": ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")[i % 5],
        **fields,
    }


def grype_doc(matches: Any) -> dict[str, Any]:
    return {"matches": matches, "source": {"type": "image", "target": {}}, "descriptor": {}}


def grype_match(i: int = 0, severity: str = "High", state: str = "fixed") -> dict[str, Any]:
    versions = ["2.0"] if state == "fixed" else []
    return {
        "vulnerability": {
            "id": f"GHSA-{i:04d}",
            "severity": severity,
            "fix": {"versions": versions, "state": state},
            "cvss": [{"version": "3.1", "metrics": {"baseScore": 7.0}}],
        },
        "relatedVulnerabilities": [{"id": f"CVE-2024-{i:05d}"}],
        "artifact": {"name": f"lib{i}", "type": "npm", "version": "1.0"},
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ('{"SchemaVersion": 2, "Results": [', "not valid JSON (truncated?)"),
        ("SchemaVersion: 2", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ('{"SchemaVersion": 2, "Results": [], "x": NaN}', "numbers must be finite"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('"just a string"', "neither a Trivy, a Grype"),
        ('{"foo": 1}', "neither a Trivy, a Grype"),
        (
            '{"SchemaVersion": 1, "ArtifactName": "x", "Results": []}',
            "SchemaVersion 1 is not supported",
        ),
        ('{"SchemaVersion": "2", "Results": []}', "SchemaVersion '2' is not supported"),
        ('[{"Target": "alpine:3.10", "Vulnerabilities": []}]', "pre-0.20 Trivy report"),
        ("1" * 5000, "not usable JSON: Exceeds the limit"),
        (
            '{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"VulnerabilityID": "C",'
            ' "PkgName": "p", "CVSS": {"nvd": {"V3Score": 1e400}}}]}]}',
            "V3Score: expected a finite number, got inf",
        ),
    ],
)
def test_unusable_files_are_scan_errors(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ScanError, match=re.escape(message)) as err:
        load_scan_report(path)
    assert err.value.hint
    assert str(path) in err.value.message


def test_truncated_real_reports(fixtures_dir: Path, tmp_path: Path) -> None:
    for name in EXPECTED:
        data = (fixtures_dir / name).read_bytes()
        for cut in (len(data) // 3, len(data) // 2, len(data) - 3):
            with pytest.raises(ScanError, match="not valid JSON"):
                load_scan_report(write(tmp_path, data[:cut]))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="cannot read scan report"):
        load_scan_report(tmp_path / "nope.json")
    with pytest.raises(ScanError, match="cannot read scan report"):
        load_scan_report(tmp_path)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (trivy_doc(Results={"a": 1}), "Results: expected a list, got an object"),
        (trivy_doc(Results=["x"]), r"Results\[0\]: expected an object, got a string"),
        (
            trivy_doc([trivy_vuln(VulnerabilityID=7)]),
            r"Vulnerabilities\[0\]\.VulnerabilityID: expected a string",
        ),
        (trivy_doc([trivy_vuln(PkgName=None)]), r"PkgName: expected a string, got null"),
        (trivy_doc([trivy_vuln(Severity="SEVERE")]), "unknown Trivy severity 'SEVERE'"),
        (trivy_doc([trivy_vuln(VendorSeverity={"nvd": 9})]), r"VendorSeverity\.nvd: expected 0-4"),
        (
            trivy_doc([trivy_vuln(CVSS={"nvd": {"V3Score": "9.8"}})]),
            r"CVSS\.nvd\.V3Score: expected a number",
        ),
        (
            trivy_doc([trivy_vuln(FixedVersion=["1.1"])]),
            "FixedVersion: expected a string, got a list",
        ),
        (
            trivy_doc(Metadata={"RepoDigests": "x@sha256:1"}),
            "Metadata.RepoDigests: expected a list",
        ),
    ],
)
def test_wrong_types_in_trivy_reports(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ScanError, match=message) as err:
        parse_trivy(doc)
    assert "not a usable Trivy report" in err.value.message


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (grype_doc({"a": 1}), "matches: expected a list"),
        (
            grype_doc([{"artifact": {}}]),
            r"matches\[0\]\.vulnerability: expected an object, got null",
        ),
        (
            grype_doc([{**grype_match(), "artifact": None}]),
            r"matches\[0\]\.artifact: expected an object",
        ),
        (grype_doc([grype_match(severity="Severe")]), "unknown Grype severity 'Severe'"),
        (grype_doc([grype_match(severity=3)]), "vulnerability.severity: expected a string"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_in_grype_reports(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ScanError, match=message):
        parse_grype(doc)


def test_severity_mappings() -> None:
    names = ["Negligible", "Unknown", "Low", "Medium", "High", "Critical"]
    grype = parse_grype(grype_doc([grype_match(i, severity=n) for i, n in enumerate(names)]))
    assert [f.effective_severity for f in grype.findings] == [
        "MINIMAL", "UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "CRITICAL",
    ]  # fmt: skip
    trivy = parse_trivy(trivy_doc([trivy_vuln(i) for i in range(5)]))
    assert [f.effective_severity for f in trivy.findings] == [
        "UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "CRITICAL",
    ]  # fmt: skip


def test_trivy_fixability_rule() -> None:
    vulns = [
        trivy_vuln(0, FixedVersion="1.1", Status="fixed"),
        trivy_vuln(1, FixedVersion="1.1"),  # older reports: no Status
        trivy_vuln(2, Status="fixed"),  # fixed upstream, version not named
        trivy_vuln(3, FixedVersion="", Status="affected"),
        trivy_vuln(4, Status="will_not_fix"),
        trivy_vuln(5, Status="fix_deferred"),
    ]
    result = parse_trivy(trivy_doc(vulns))
    assert [f.fixable for f in result.findings] == [True, True, True, False, False, False]
    assert [f.fixed_version for f in result.findings] == ["1.1", "1.1", None, None, None, None]


def test_trivy_cvss_choice() -> None:
    cvss = [
        {"redhat": {"V3Score": 5.6}, "nvd": {"V3Score": 9.8}},
        {"redhat": {"V3Score": 8.1}, "nvd": {"V2Score": 5.0}},  # no NVD v3: highest v3
        {"nvd": {"V2Score": 5.0}, "ghsa": {"V2Score": 6.0}},  # no v3 anywhere: NVD's v2
        {},
    ]
    result = parse_trivy(trivy_doc([trivy_vuln(i, CVSS=c) for i, c in enumerate(cvss)]))
    assert [f.cvss for f in result.findings] == [9.8, 8.1, 5.0, None]


def test_grype_fixability_rule() -> None:
    states = ["fixed", "not-fixed", "wont-fix", "unknown"]
    result = parse_grype(grype_doc([grype_match(i, state=s) for i, s in enumerate(states)]))
    assert [f.fixable for f in result.findings] == [True, False, False, False]
    bare = grype_match(9)
    bare["vulnerability"]["fix"] = {"versions": [], "state": "fixed"}
    assert parse_grype(grype_doc([bare])).findings[0].fixable is False


def test_empty_reports_have_no_findings() -> None:
    assert parse_trivy({"SchemaVersion": 2, "ArtifactName": "x"}).findings == ()
    assert parse_trivy(trivy_doc(None)).findings == ()
    assert parse_grype(grype_doc([])).findings == ()
    assert parse_grype({"matches": None}).findings == ()


@pytest.mark.parametrize("fmt", ["trivy", "grype"])
def test_huge_valid_report(tmp_path: Path, fmt: str) -> None:
    n = 5000
    if fmt == "trivy":
        doc = trivy_doc([trivy_vuln(i, FixedVersion="2.0" if i % 2 else "") for i in range(n)])
    else:
        doc = grype_doc([grype_match(i, state=("fixed", "unknown")[i % 2]) for i in range(n)])
    path = write(tmp_path, json.dumps(doc))
    start = time.perf_counter()
    result = load_scan_report(path)
    elapsed = time.perf_counter() - start
    assert len(result.findings) == n
    assert sum(result.counts().values()) == n
    assert sum(f.fixable for f in result.findings) == n // 2
    assert elapsed < 10, f"{n} findings took {elapsed:.1f}s"


# --- fuzzing: arbitrary damage is a ScanError, never a crash ---------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_damaged_real_reports_never_crash(fixtures_dir: Path, name: str) -> None:
    original = json.loads((fixtures_dir / name).read_text())
    all_paths = paths(original)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(path=st.sampled_from(all_paths), value=json_values)
    def check(path: tuple[Any, ...], value: Any) -> None:
        try:
            result = parse_scan_report(replaced(original, path, value))
        except ScanError as err:
            assert err.message and err.hint
        else:
            json.dumps(result.to_input(), allow_nan=False)

    check()


@settings(max_examples=200, deadline=None)
@given(doc=json_values)
def test_arbitrary_json_never_crashes(doc: Any) -> None:
    for candidate in (doc, {"SchemaVersion": 2, "Results": doc}, {"matches": doc}):
        with contextlib.suppress(ScanError):
            parse_scan_report(candidate)
