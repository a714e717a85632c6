"""One fact source failing never hides what the others say: every policy judges what could
be gathered, the failure is kept as an error, and the image is still denied (fail closed,
never attested). A real docker-registry on 127.0.0.1 for the platforms; Artifact Analysis,
Cloud KMS and Binary Authorization through the real Google client libraries against the
gRPC test servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests

from gate.cli import main
from tests.integration.attest_env import ATTESTOR, GoogleApis
from tests.integration.grafeas_server import discovery_occurrence
from tests.integration.oci_push import Pusher, image_config, push_image, push_index
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import KEY, apis, registry  # noqa: F401 - fixtures
from tests.integration.test_eval_fetched import LABELS, NOW, PROJECT, Status
from tests.integration.test_registry_client import binary  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
SECRET_ENV = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


@pytest.fixture
def data(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    approved = tmp_path / "approved.json"
    params = {
        "registries": {"approved": [f"{registry.host}/**"]},
        "freshness": {"max_age_days": 3650},  # attest judges at the real time
    }
    approved.write_text(json.dumps({"gate": {"params": params}}))
    for name, value in {
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": apis.server.address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_GOOGLE_TIMEOUT": "5",
        "GATE_FETCH_TIMEOUT": "20",
    }.items():
        monkeypatch.setenv(name, value)
    return approved


def config(user: str, **changes: Any) -> bytes:
    """An image config that breaks what ``changes`` leave broken: by default root, an old
    creation time, no labels and a secret in the environment."""
    doc = json.loads(image_config(user=user, labels=changes.pop("labels", {})))
    doc["created"] = changes.pop("created", "1990-01-01T00:00:00Z")
    doc["config"]["Env"] += [f"{k}={v}" for k, v in changes.pop("env", SECRET_ENV).items()]
    return json.dumps(doc).encode()


def bad_image(
    registry: RegistryServer,  # noqa: F811
    tag: str,
) -> str:
    pushed = push_image(Pusher(registry.url), "acme/web", config("root"), tag=tag)
    return f"{registry.host}/acme/web@{pushed.digest}"


def evaluate(capsys: pytest.CaptureFixture[str], image: str, data: Path) -> tuple[int, Any]:
    code = main(["eval", image, "--data", str(data), "--now", NOW, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def policy_ids(result: dict[str, Any]) -> set[str]:
    return {v["policy_id"] for v in result["violations"]}


EVERY_IMAGE_POLICY = {
    "GATE-IMG-001",
    "GATE-IMG-002",
    "GATE-IMG-003",
    "GATE-IMG-004",
    "GATE-IMG-005",
}


def test_without_a_scan_source_every_policy_reports(
    registry: RegistryServer,  # noqa: F811
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GATE_SCAN_SOURCE", "none")
    code, report = evaluate(capsys, bad_image(registry, "no-scan-source"), data)
    [result] = report["results"]
    assert code == 1 and result["errors"] == []  # nothing failed: there is no scanner
    assert policy_ids(result) == EVERY_IMAGE_POLICY
    [scan] = [v for v in result["violations"] if v["policy_id"] == "GATE-IMG-002"]
    assert "no vulnerability scan result" in scan["message"]


def test_a_scan_source_without_a_project_keeps_its_error_among_every_policy(
    registry: RegistryServer,  # noqa: F811
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """127.0.0.1 names no Google project and none is configured: the scan cannot be looked
    up, and non-root, secrets, freshness and labels are still reported."""
    monkeypatch.delenv("GATE_ARTIFACT_ANALYSIS_PROJECT")
    code, report = evaluate(capsys, bad_image(registry, "no-project"), data)
    [result] = report["results"]
    assert code == 2 and report["allowed"] is False and result["allowed"] is False
    assert policy_ids(result) == EVERY_IMAGE_POLICY
    [error] = result["errors"]
    assert error["kind"] == "scan" and error["hint"]


def test_a_failing_scan_service_keeps_its_error_among_every_policy(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    apis.grafeas.fail("ListOccurrences", grpc.StatusCode.PERMISSION_DENIED, "denied", times=5)
    code, report = evaluate(capsys, bad_image(registry, "scan-denied"), data)
    [result] = report["results"]
    assert code == 2 and policy_ids(result) == EVERY_IMAGE_POLICY
    [error] = result["errors"]
    assert error["kind"] == "scan" and "roles/containeranalysis" in error["hint"]


def test_one_unreadable_platform_keeps_its_error_and_the_others_are_judged(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The amd64 config blob is gone from the registry; arm64 still runs as root."""
    pusher = Pusher(registry.url)
    good = config("65532", labels=LABELS, created="2026-01-02T03:04:05Z", env={})
    amd64 = push_image(pusher, "acme/split", good)
    arm64_config = json.loads(config("root", labels=LABELS, created="2026-01-02T03:04:05Z", env={}))
    arm64_config["architecture"] = "arm64"
    arm64 = push_image(pusher, "acme/split", json.dumps(arm64_config).encode())
    index = push_index(
        pusher,
        "acme/split",
        [
            (amd64, {"os": "linux", "architecture": "amd64"}),
            (arm64, {"os": "linux", "architecture": "arm64"}),
        ],
    )
    image = f"{registry.host}/acme/split@{index.digest}"
    apis.grafeas.put(PROJECT, discovery_occurrence(f"https://{image}", Status.FINISHED_SUCCESS))
    amd64_manifest = requests.get(
        f"{registry.url}/v2/acme/split/manifests/{amd64.digest}",
        headers={"Accept": amd64.media_type},
        timeout=10,
    ).json()
    gone = amd64_manifest["config"]["digest"]
    deleted = requests.delete(f"{registry.url}/v2/acme/split/blobs/{gone}", timeout=10)
    assert deleted.status_code == 202, deleted.text

    code, report = evaluate(capsys, image, data)
    [result] = report["results"]
    assert code == 2 and result["allowed"] is False
    [root] = result["violations"]
    assert (root["policy_id"], root["platform"]) == ("GATE-IMG-001", "linux/arm64")
    [error] = result["errors"]
    assert error["kind"] == "registry" and gone in error["message"]


def test_a_partial_decision_is_never_attested(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A compliant image whose scan cannot be read: errored (exit 2), with what was judged,
    and nothing signed or stored."""
    compliant = config("65532", labels=LABELS, created="2026-01-02T03:04:05Z", env={})
    pushed = push_image(Pusher(registry.url), "acme/web", compliant, tag="compliant")
    image = f"{registry.host}/acme/web@{pushed.digest}"
    apis.grafeas.fail("ListOccurrences", grpc.StatusCode.PERMISSION_DENIED, "denied", times=5)
    code = main([
        "attest", image, "--attestor", ATTESTOR, "--key", "gcpkms://" + KEY,
        "--kms-endpoint", apis.server.address, "--binauthz-endpoint", apis.server.address,
        "--data", str(data), "--output", "json",
    ])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    [result] = report["results"]
    assert code == 2 and result["status"] == "errored"
    assert policy_ids(result["decision"]) == {"GATE-IMG-002"}  # no scan result
    assert [e["kind"] for e in result["errors"]] == ["scan"]
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")
