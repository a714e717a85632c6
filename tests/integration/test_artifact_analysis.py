"""Artifact Analysis through the real Grafeas client against a gRPC server on 127.0.0.1.

Scan status (pending, scanning, finished, failed, unsupported, missing), waiting with
backoff, all pages of findings, fixability, and the gcloud fixture's occurrences served
as Grafeas messages. Errors and transport settings: ``test_artifact_analysis_errors``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from grafeas.grafeas_v1 import DiscoveryOccurrence, Occurrence, Severity

from gate.facts.scans.artifact_analysis import (
    ArtifactAnalysis,
    ArtifactAnalysisSettings,
    WaitProgress,
)
from gate.facts.scans.gcloud import load_gcloud, occurrences_of
from tests.conftest import REPO_ROOT
from tests.integration.grafeas_server import (
    GoogleApiServer,
    GrafeasServicer,
    discovery_occurrence,
    multi_package_occurrence,
    vulnerability_occurrence,
)

pytestmark = pytest.mark.integration

PROJECT = "acme-prod"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"europe-west1-docker.pkg.dev/{PROJECT}/apps/api@{DIGEST}"
RESOURCE = f"https://{IMAGE}"
DISCOVERY_NAME = f"projects/{PROJECT}/occurrences/discovery-api"
Status = DiscoveryOccurrence.AnalysisStatus


@pytest.fixture
def server() -> Iterator[tuple[GoogleApiServer, GrafeasServicer]]:
    with GoogleApiServer() as api:
        grafeas = api.add(GrafeasServicer())
        api.start()
        yield api, grafeas


@pytest.fixture
def grafeas(server: tuple[GoogleApiServer, GrafeasServicer]) -> GrafeasServicer:
    return server[1]


def source(server: tuple[GoogleApiServer, GrafeasServicer], **settings: Any) -> ArtifactAnalysis:
    options: dict[str, Any] = {"rpc_timeout": 5.0, "initial_backoff": 0.02, **settings}
    progress = options.pop("progress", None)
    return ArtifactAnalysis(
        ArtifactAnalysisSettings(endpoint=server[0].endpoint, **options), progress=progress
    )


def set_discovery(grafeas: GrafeasServicer, status: int, *reasons: str) -> None:
    grafeas.put(PROJECT, discovery_occurrence(RESOURCE, status, *reasons, name=DISCOVERY_NAME))


def vulnerability(cve: str, severity: int, *fixed: bool) -> Occurrence:
    return vulnerability_occurrence(RESOURCE, cve, severity, *fixed)


def test_pending_then_finished(server: Any, grafeas: GrafeasServicer) -> None:
    set_discovery(grafeas, Status.PENDING)
    grafeas.put(PROJECT, vulnerability("CVE-2024-0001", Severity.HIGH))
    pending = source(server).scan(IMAGE)
    assert (pending.status, pending.findings) == ("PENDING", ())
    assert "not finished" in pending.detail
    assert not [
        c
        for c in grafeas.called("ListOccurrences")
        if c.request.filter.startswith('kind="VULNERABILITY"')
    ]

    set_discovery(grafeas, Status.FINISHED_SUCCESS)
    done = source(server).scan(IMAGE)
    assert done.status == "FINISHED_SUCCESS" and done.is_about(DIGEST)
    [finding] = done.findings
    assert (finding.id, finding.effective_severity, finding.fixable) == (
        "CVE-2024-0001",
        "HIGH",
        True,
    )
    assert (finding.installed_version, finding.fixed_version) == (
        "3.0.11-1~deb12u1",
        "3.0.13-1~deb12u1",
    )
    schema = json.loads((REPO_ROOT / "gate/schema/input.schema.json").read_text())
    jsonschema.validate(
        done.to_input(), {"$defs": schema["$defs"], "$ref": "#/$defs/vulnerabilities"}
    )


def test_requests_are_the_documented_ones_from_the_real_client(
    server: Any, grafeas: GrafeasServicer
) -> None:
    set_discovery(grafeas, Status.FINISHED_SUCCESS)
    source(server).scan(IMAGE)
    discovery, vulns = grafeas.called("ListOccurrences")
    assert discovery.request.parent == f"projects/{PROJECT}"
    assert discovery.request.filter == (
        f'resourceUrl="{RESOURCE}" AND noteProjectId="goog-analysis" '
        'AND noteId="PACKAGE_VULNERABILITY"'
    )
    assert vulns.request.filter == f'kind="VULNERABILITY" AND resourceUrl="{RESOURCE}"'
    assert "gapic/" in discovery.metadata["x-goog-api-client"]  # the generated client, not a stub


@pytest.mark.parametrize(
    ("status", "reasons", "expected"),
    [
        (Status.SCANNING, (), "not finished: SCANNING"),
        (Status.FINISHED_UNSUPPORTED, ("unsupported OS: windows/amd64",), "does not support"),
        (Status.FINISHED_FAILED, ("layer fetch failed", "timeout"), "layer fetch failed; timeout"),
        (Status.FINISHED_FAILED, (), "no reason given"),
    ],
)
def test_unfinished_and_failed_scans_are_results(
    server: Any, grafeas: GrafeasServicer, status: int, reasons: tuple[str, ...], expected: str
) -> None:
    set_discovery(grafeas, status, *reasons)
    grafeas.put(PROJECT, vulnerability("CVE-2024-0001", Severity.CRITICAL))
    result = source(server).scan(IMAGE)
    assert (result.status, result.findings) == (Status(status).name, ())
    assert expected in result.detail and all(r in result.detail for r in reasons)
    assert result.to_input()["scan"] == {"status": Status(status).name, "detail": result.detail}


def test_no_discovery_is_missing(server: Any, grafeas: GrafeasServicer) -> None:
    other = vulnerability("CVE-2024-0001", Severity.LOW)
    other.resource_uri = RESOURCE.replace("ab" * 32, "cd" * 32)
    grafeas.put(PROJECT, other)
    result = source(server).scan(IMAGE)
    assert (result.status, result.findings) == ("MISSING", ())
    assert RESOURCE in result.detail and "Container Scanning API" in result.detail


def test_every_page_of_findings(server: Any, grafeas: GrafeasServicer) -> None:
    set_discovery(grafeas, Status.FINISHED_SUCCESS)
    severities = [Severity.LOW, Severity.MEDIUM, Severity.CRITICAL]
    for n in range(250):
        grafeas.put(PROJECT, vulnerability(f"CVE-2024-{n:04d}", severities[n % 3], n % 2 == 0))
    result = source(server, page_size=100).scan(IMAGE)
    pages = [
        c
        for c in grafeas.called("ListOccurrences")
        if c.request.filter.startswith('kind="VULNERABILITY"')
    ]
    assert len(pages) == 3 and [bool(c.request.page_token) for c in pages] == [False, True, True]
    assert len({f.id for f in result.findings}) == 250
    assert result.counts() == Counter(
        {
            ("LOW", True): 42,
            ("LOW", False): 42,
            ("MEDIUM", True): 41,
            ("MEDIUM", False): 42,
            ("CRITICAL", True): 42,
            ("CRITICAL", False): 41,
        }
    )


def test_waits_with_backoff_until_finished(server: Any, grafeas: GrafeasServicer) -> None:
    looks: list[WaitProgress] = []
    script = iter([None, Status.PENDING, Status.SCANNING, Status.SCANNING, Status.FINISHED_SUCCESS])

    def advance(request: Any) -> None:
        if "goog-analysis" in request.filter:
            status = next(script, Status.FINISHED_SUCCESS)
            if status is not None:
                set_discovery(grafeas, status)

    grafeas.before["ListOccurrences"] = advance
    grafeas.put(PROJECT, vulnerability("CVE-2024-0001", Severity.MEDIUM, False))
    result = source(server, wait_timeout=30, progress=looks.append).scan(IMAGE)
    assert [p.status for p in looks] == [
        "MISSING",
        "PENDING",
        "SCANNING",
        "SCANNING",
        "FINISHED_SUCCESS",
    ]
    assert [p.next_check for p in looks] == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.0])
    assert result.status == "FINISHED_SUCCESS" and [f.fixable for f in result.findings] == [False]


def test_waiting_stops_at_its_timeout(server: Any, grafeas: GrafeasServicer) -> None:
    set_discovery(grafeas, Status.SCANNING)
    looks: list[WaitProgress] = []
    slept: list[float] = []
    settings = ArtifactAnalysisSettings(
        endpoint=server[0].endpoint, wait_timeout=60, initial_backoff=2, max_backoff=16
    )
    analysis = ArtifactAnalysis(
        settings, progress=looks.append, sleep=slept.append, clock=lambda: float(sum(slept))
    )
    result = analysis.scan(IMAGE)
    assert slept == [2, 4, 8, 16, 16, 14]  # doubling, capped, the last cut to the deadline
    assert [p.status for p in looks] == ["SCANNING"] * 7 and looks[-1].next_check == 0
    assert result.status == "SCANNING" and "still SCANNING after waiting 60.0s" in result.detail
    assert len(grafeas.called("ListOccurrences")) == 7  # no findings read for an unfinished scan


def test_real_time_wait_timeout(server: Any, grafeas: GrafeasServicer) -> None:
    set_discovery(grafeas, Status.PENDING)
    result = source(server, wait_timeout=0.3, initial_backoff=0.05, max_backoff=0.1).scan(IMAGE)
    assert result.status == "PENDING" and "still PENDING after waiting 0.3s" in result.detail
    assert 4 <= len(grafeas.called("ListOccurrences")) <= 8


@pytest.mark.parametrize(("fixability", "expected"), [("any", True), ("all", False)])
def test_fixability_setting(
    server: Any, grafeas: GrafeasServicer, fixability: str, expected: bool
) -> None:
    set_discovery(grafeas, Status.FINISHED_SUCCESS)
    grafeas.put(PROJECT, vulnerability("CVE-2024-0002", Severity.HIGH, True, False))
    findings = source(server, fixability=fixability).scan(IMAGE).findings
    assert [f.fixable for f in findings] == [expected, expected]  # one per package issue
    assert [f.fixed_version for f in findings] == ["3.0.13-1~deb12u1", None]


def test_every_package_issue_is_its_own_finding(server: Any, grafeas: GrafeasServicer) -> None:
    """A CVE in three installed packages is three findings, each with its own versions."""
    set_discovery(grafeas, Status.FINISHED_SUCCESS)
    packages = [
        ("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
        ("libssl3", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
        ("openssl-provider-legacy", "3.0.11-1~deb12u1", None),
        ("libssl3", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),  # a second file location
    ]
    grafeas.put(
        PROJECT, multi_package_occurrence(RESOURCE, "CVE-2024-5535", Severity.HIGH, packages)
    )
    grafeas.put(PROJECT, vulnerability("CVE-2024-0001", Severity.LOW))
    result = source(server).scan(IMAGE)
    assert len(result.findings) == 4
    assert Counter(f.id for f in result.findings) == Counter(
        {"CVE-2024-5535": 3, "CVE-2024-0001": 1}
    )
    by_package = {f.package: f for f in result.findings if f.id == "CVE-2024-5535"}
    assert {p: (f.installed_version, f.fixed_version) for p, f in by_package.items()} == {
        "openssl": ("3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
        "libssl3": ("3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
        "openssl-provider-legacy": ("3.0.11-1~deb12u1", None),
    }
    assert {f.effective_severity for f in by_package.values()} == {"HIGH"}
    assert all(f.fixable for f in by_package.values())  # any package fixed: the CVE is fixable
    strict = source(server, fixability="all").scan(IMAGE).findings
    assert [f.fixable for f in strict if f.id == "CVE-2024-5535"] == [False] * 3
    assert result.to_input()["scan"]["detail"].endswith("4 finding(s)")


def test_gcloud_fixture_served_as_grafeas_messages(
    server: Any, grafeas: GrafeasServicer, fixtures_dir: Path
) -> None:
    path = fixtures_dir / "grafeas" / "gcloud-artifacts-describe-go-stdlib-critical.json"
    for occurrence in occurrences_of(json.loads(path.read_text())):
        occurrence.resource_uri = RESOURCE  # the fixture's digest is a placeholder
        occurrence.name = occurrence.name.replace("projects/test/", f"projects/{PROJECT}/")
        grafeas.put(PROJECT, occurrence)
    result = source(server).scan(IMAGE)
    assert result.status == "FINISHED_SUCCESS"
    assert result.counts() == Counter({("CRITICAL", True): 6, ("HIGH", True): 1})
    assert sorted(result.findings, key=lambda f: f.id) == sorted(
        load_gcloud(path).findings, key=lambda f: f.id
    )
    assert {f.fixed_version for f in result.findings} == {
        "1.19.10",
        "1.19.9",
        "1.19.8",
        "1.17.7",
        "1.18.7",
    }
