"""`gate eval IMAGE` fetching its own facts: a real docker-registry on 127.0.0.1 for the
platforms, and Artifact Analysis through the real Grafeas client against a gRPC server
on 127.0.0.1 for the scan. The issue-3 acceptance cases, end to end through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafeas.grafeas_v1 import DiscoveryOccurrence, Severity

from gate.cli import main
from tests.integration.grafeas_server import (
    GoogleApiServer,
    GrafeasServicer,
    discovery_occurrence,
    vulnerability_occurrence,
)
from tests.integration.oci_push import (
    Pusher,
    attestation_entry,
    image_config,
    index_entry,
    push_image,
    push_index,
    push_index_of,
)
from tests.integration.registry_server import RegistryServer
from tests.integration.test_registry_client import binary, started  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

PROJECT = "acme"
NOW = "2026-01-10T00:00:00Z"
LABELS = {
    "org.opencontainers.image.source": "https://example.com/acme/web",
    "org.opencontainers.image.revision": "abc123",
}
Status = DiscoveryOccurrence.AnalysisStatus


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:  # noqa: F811
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


@pytest.fixture
def grafeas() -> Iterator[tuple[GoogleApiServer, GrafeasServicer]]:
    with GoogleApiServer() as api:
        servicer = api.add(GrafeasServicer())
        api.start()
        yield api, servicer


@pytest.fixture
def gate_env(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Settings pointing gate at the local registry and Grafeas; the registry approved in data."""
    approved = tmp_path / "approved.json"
    approved.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{registry.host}/**"]}}}})
    )
    for name, value in {
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": grafeas[0].address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_FETCH_TIMEOUT": "20",
    }.items():
        monkeypatch.setenv(name, value)
    return approved


def multi_arch(registry: RegistryServer, arm64_user: str) -> str:
    pusher = Pusher(registry.url)
    amd64 = push_image(pusher, "acme/web", image_config(user="65532", labels=LABELS))
    arm64 = push_image(
        pusher,
        "acme/web",
        image_config(user=arm64_user, architecture="arm64", variant="v8", labels=LABELS),
    )
    index = push_index(
        pusher,
        "acme/web",
        [
            (amd64, {"os": "linux", "architecture": "amd64"}),
            (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ],
        tag=f"multi-{arm64_user or 'empty'}",
        attestation_for=amd64,
    )
    return f"{registry.host}/acme/web@{index.digest}"


def scanned(
    grafeas: GrafeasServicer, image: str, status: int, *findings: tuple[str, int], reason: str = ""
) -> None:
    resource = f"https://{image}"
    grafeas.put(PROJECT, discovery_occurrence(resource, status, *([reason] if reason else [])))
    for cve, severity in findings:
        grafeas.put(PROJECT, vulnerability_occurrence(resource, cve, severity))


def evaluate(
    capsys: pytest.CaptureFixture[str], image: str, data: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(["eval", image, "--data", str(data), "--now", NOW, "--output", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def violations(report: dict[str, Any], policy_id: str) -> list[dict[str, Any]]:
    return [v for r in report["results"] for v in r["violations"] if v["policy_id"] == policy_id]


def test_multi_arch_image_with_a_root_arm64_config_is_denied_naming_the_platform(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = multi_arch(registry, arm64_user="root")
    scanned(grafeas[1], image, Status.FINISHED_SUCCESS)
    code, report = evaluate(capsys, image, gate_env)
    assert code == 1
    (root,) = violations(report, "GATE-IMG-001")
    assert root["platform"] == "linux/arm64/v8"
    assert {v["policy_id"] for r in report["results"] for v in r["violations"]} == {"GATE-IMG-001"}


def test_a_root_platform_disguised_as_an_attestation_is_judged_and_denied(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The arm64 entry carries an artifactType and BuildKit's attestation annotation, but
    its platform is linux/arm64: a node of that kind runs it, so gate judges it."""
    pusher = Pusher(registry.url)
    amd64 = push_image(pusher, "acme/web", image_config(user="65532", labels=LABELS))
    arm64 = push_image(
        pusher, "acme/web", image_config(user="root", architecture="arm64", labels=LABELS)
    )
    disguised = index_entry(
        arm64,
        {"os": "linux", "architecture": "arm64"},
        artifactType="application/vnd.in-toto+json",
        annotations={"vnd.docker.reference.type": "attestation-manifest"},
    )
    index = push_index_of(
        pusher,
        "acme/web",
        [
            index_entry(amd64, {"os": "linux", "architecture": "amd64"}),
            disguised,
            attestation_entry(pusher, "acme/web", amd64),
        ],
        tag="disguised",
    )
    image = f"{registry.host}/acme/web@{index.digest}"
    scanned(grafeas[1], image, Status.FINISHED_SUCCESS)
    code, report = evaluate(capsys, image, gate_env)
    assert code == 1
    (root,) = violations(report, "GATE-IMG-001")
    assert root["platform"] == "linux/arm64"
    assert "runs as root" in root["message"]


def test_compliant_multi_arch_image_is_allowed(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = multi_arch(registry, arm64_user="65532")
    scanned(grafeas[1], image, Status.FINISHED_SUCCESS, ("CVE-2024-0001", Severity.MEDIUM))
    code, report = evaluate(capsys, image, gate_env)
    assert (code, report["allowed"]) == (0, True), report


def test_platform_selection(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = multi_arch(registry, arm64_user="0")
    scanned(grafeas[1], image, Status.FINISHED_SUCCESS)
    assert evaluate(capsys, image, gate_env, "--platform", "linux/amd64")[0] == 0
    assert evaluate(capsys, image, gate_env, "--platform", "linux/arm64/v8")[0] == 1


def test_scan_pending_then_finished_then_critical(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = multi_arch(registry, arm64_user="65532")
    scanned(grafeas[1], image, Status.PENDING)
    code, report = evaluate(capsys, image, gate_env)
    assert code == 1
    assert "not finished" in violations(report, "GATE-IMG-002")[0]["message"]

    grafeas[1].occurrences.clear()
    scanned(grafeas[1], image, Status.FINISHED_SUCCESS, ("CVE-2024-9999", Severity.CRITICAL))
    code, report = evaluate(capsys, image, gate_env)
    assert code == 1
    assert "CVE-2024-9999" in violations(report, "GATE-IMG-002")[0]["message"]


def test_scan_unsupported_is_denied_with_its_reason(
    registry: RegistryServer,
    grafeas: tuple[GoogleApiServer, GrafeasServicer],
    gate_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = multi_arch(registry, arm64_user="65532")
    scanned(grafeas[1], image, Status.FINISHED_UNSUPPORTED, reason="the base OS is not supported")
    code, report = evaluate(capsys, image, gate_env)
    assert code == 1
    message = violations(report, "GATE-IMG-002")[0]["message"]
    assert "unsupported" in message.lower() and "the base OS is not supported" in message


def test_unapproved_registry_is_never_contacted(
    registry: RegistryServer, gate_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = multi_arch(registry, arm64_user="65532")
    registry.settle()
    before = len(registry.requests())
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": ["us-docker.pkg.dev/**"]}}}})
    )
    code, report = evaluate(capsys, image, elsewhere)
    assert code == 1 and violations(report, "GATE-REF-002")
    registry.settle()
    assert len(registry.requests()) == before


def test_registry_down_is_an_error_that_denies(
    gate_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = "127.0.0.1:9"
    data = tmp_path / "dead.json"
    data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": [f"{dead}/**"]}}}}))
    monkeypatch.setenv("GATE_INSECURE_REGISTRIES", dead)
    monkeypatch.setenv("GATE_FETCH_TIMEOUT", "3")
    code, report = evaluate(capsys, f"{dead}/acme/web@sha256:{'a' * 64}", data)
    assert code == 2 and report["allowed"] is False
    error = report["results"][0]["errors"][0]
    assert error["kind"] == "registry" and error["hint"]
