"""`gate eval`, `gate test` and `gate policies` end to end on the embedded engine and the
shipped policies: the acceptance cases of the policy core, with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main

DIGEST = "sha256:" + "ab" * 32
APPROVED = f"us-docker.pkg.dev/acme/apps/web@{DIGEST}"
NOW = "2026-11-29T12:00:00Z"


def compliant_metadata(tmp_path: Path, **config: Any) -> Path:
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-11-20T09:30:00Z",
        "config": {
            "User": "65532",
            "Env": ["PATH=/usr/bin"],
            "Labels": {
                "org.opencontainers.image.source": "https://github.com/acme/web",
                "org.opencontainers.image.revision": "0123abc",
            },
        }
        | config,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(image_config))
    return path


def clean_scan(tmp_path: Path) -> Path:
    path = tmp_path / "trivy.json"
    path.write_text(
        json.dumps(
            {
                "SchemaVersion": 2,
                "ArtifactName": APPROVED,
                "ArtifactType": "container_image",
                "Results": [],
            }
        )
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["eval", *args, "--now", NOW, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def ids(report: dict[str, Any], kind: str = "violations") -> set[str]:
    return {v["policy_id"] for result in report["results"] for v in result[kind]}


def test_compliant_image_is_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(
        capsys,
        APPROVED,
        "--metadata",
        str(compliant_metadata(tmp_path)),
        "--scan",
        str(clean_scan(tmp_path)),
    )
    assert (code, report["allowed"], ids(report)) == (0, True, set())


def test_tag_only_reference_is_denied_by_the_digest_policy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(capsys, "us-docker.pkg.dev/acme/apps/web:1.2.3")
    assert code == 1
    assert "GATE-REF-001" in ids(report)


def test_gcr_image_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta, scan = compliant_metadata(tmp_path), clean_scan(tmp_path)
    code, report = run(
        capsys, f"gcr.io/acme/web@{DIGEST}", "--metadata", str(meta), "--scan", str(scan)
    )
    assert "GATE-REF-003" in ids(report, "warnings") | ids(report)
    assert code == 1  # gcr.io is not in the default approved registries either
    assert "GATE-REF-002" in ids(report)


def test_config_without_user_is_denied_as_root(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fixtures_dir / "oci" / "image-config-httpd-no-user-root.json"
    code, report = run(
        capsys, APPROVED, "--metadata", str(config), "--scan", str(clean_scan(tmp_path))
    )
    assert code == 1
    messages = [
        v["message"]
        for r in report["results"]
        for v in r["violations"]
        if v["policy_id"] == "GATE-IMG-001"
    ]
    assert messages and "linux/amd64" in messages[0] + json.dumps(report)


def test_trivy_debian_buster_threshold_and_allowed_cves(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = fixtures_dir / "trivy" / "trivy-debian-buster-critical-fixed-low-unfixed.json"
    meta = compliant_metadata(tmp_path)
    high = tmp_path / "high.json"
    high.write_text(
        json.dumps({"gate": {"params": {"vulnerabilities": {"maximum_fixable_severity": "HIGH"}}}})
    )
    code, report = run(
        capsys, APPROVED, "--metadata", str(meta), "--scan", str(scan), "--data", str(high)
    )
    assert code == 1
    assert ids(report) == {"GATE-IMG-002"}
    assert "CVE-2019-18224" in json.dumps(report)

    allowed = tmp_path / "allowed.yaml"
    allowed.write_text(
        "gate:\n  params:\n    vulnerabilities:\n      allowed_cves: [CVE-2019-18224]\n"
    )
    code, report = run(
        capsys,
        APPROVED,
        "--metadata",
        str(meta),
        "--scan",
        str(scan),
        "--data",
        str(high),
        "--data",
        str(allowed),
    )
    assert (code, report["allowed"]) == (0, True)


def many_critical_findings(
    fixtures_dir: Path, tmp_path: Path, count: int
) -> tuple[Path, list[str]]:
    """The Debian buster report's fixable CRITICAL finding, ``count`` times with new ids."""
    source = fixtures_dir / "trivy" / "trivy-debian-buster-critical-fixed-low-unfixed.json"
    report = json.loads(source.read_text())
    [critical] = [
        v
        for result in report["Results"]
        for v in result["Vulnerabilities"]
        if v["Severity"] == "CRITICAL" and v.get("FixedVersion")
    ]
    ids = [f"CVE-2099-{1000 + i}" for i in range(count)]
    report["Results"][0]["Vulnerabilities"] = [
        critical | {"VulnerabilityID": cve, "PkgName": f"pkg{i}"} for i, cve in enumerate(ids)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(report))
    return path, ids


def test_many_findings_over_a_threshold_are_one_violation_that_lists_every_one(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan, cves = many_critical_findings(fixtures_dir, tmp_path, 12)
    args = [APPROVED, "--metadata", str(compliant_metadata(tmp_path)), "--scan", str(scan)]
    code, report = run(capsys, *args)
    assert code == 1
    [violation] = [
        v for v in report["results"][0]["violations"] if v["policy_id"] == "GATE-IMG-002"
    ]
    # --output json: every finding that broke the threshold, in the violation's findings
    assert [f["id"] for f in violation["findings"]] == cves
    assert {f["package"] for f in violation["findings"]} == {f"pkg{i}" for i in range(12)}
    # the message stays bounded: the first five, and how many more
    message = violation["message"]
    assert "12 findings exceed maximum_fixable_severity HIGH" in message
    assert all(cve in message for cve in cves[:5]) and cves[5] not in message
    assert "and 7 more" in message

    assert main(["eval", *args, "--now", NOW]) == 1
    text = capsys.readouterr().out
    assert "and 7 more" in text and cves[-1] not in text


def test_a_scan_report_about_another_image_is_dropped_and_the_rest_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report never stands in for this image's scan; the other policies still report."""
    other = f"us-docker.pkg.dev/acme/apps/web@sha256:{'cd' * 32}"
    scan = clean_scan(tmp_path)
    scan.write_text(scan.read_text().replace(APPROVED, other))
    report_doc = json.loads(scan.read_text())
    report_doc["Metadata"] = {"RepoDigests": [other]}
    scan.write_text(json.dumps(report_doc))
    metadata = compliant_metadata(tmp_path, User="root")
    code, report = run(capsys, APPROVED, "--metadata", str(metadata), "--scan", str(scan))
    [result] = report["results"]
    assert code == 2 and report["allowed"] is False
    assert ids(report) == {"GATE-IMG-001", "GATE-IMG-002"}  # root, and no scan of this image
    [error] = result["errors"]
    assert error["kind"] == "scan" and "not about " + DIGEST in error["message"]


@pytest.mark.parametrize(
    "image", ["", "UPPER/case", "nginx@sha256:abc", "https://gcr.io/x", "user:pw@gcr.io/x/y"]
)
def test_invalid_reference_is_an_error_exit_2(
    image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(capsys, image)
    assert code == 2
    assert report["allowed"] is False
    assert report["results"][0]["errors"][0]["kind"] == "reference"


def test_corrupt_scan_report_is_an_error_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"SchemaVersion": 2, "Results": [')
    assert main(["eval", APPROVED, "--scan", str(broken)]) == 2
    assert "scan report" in capsys.readouterr().err


def test_missing_policy_folder_is_an_error_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--policies", str(tmp_path / "nowhere"), "eval", APPROVED]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_table_output_names_policy_and_remediation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "nginx"]) == 1
    out = capsys.readouterr().out
    assert "DENIED" in out and "GATE-REF-001" in out and "fix:" in out


def test_gate_test_runs_the_rego_tests(
    policies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(policies_dir)]) == 0
    out = capsys.readouterr().out
    assert " passed, 0 failed" in out


def test_gate_test_junit(policies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(policies_dir), "--output", "junit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<?xml") and "<testsuite" in out and "<failure" not in out


def test_gate_test_reports_a_failing_test(
    tmp_path: Path, policies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.rego").write_text("package gate.x\n\nx := 1\n")
    (tmp_path / "p_test.rego").write_text("package gate.x_test\n\ntest_one if data.gate.x.x == 2\n")
    assert main(["test", str(tmp_path)]) == 1
    assert "FAIL: gate.x_test.test_one" in capsys.readouterr().out


def test_gate_policies_lists_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for policy_id in ("GATE-REF-001", "GATE-REF-002", "GATE-IMG-001", "GATE-IMG-002"):
        assert policy_id in out
