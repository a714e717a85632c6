"""`gate attest` and `gate verify` end to end through the CLI: a real docker-registry on
127.0.0.1 for the image, and one gRPC server for Artifact Analysis (the scan), Cloud KMS,
Binary Authorization and Container Analysis (the attestations), reached through the real
Google client libraries. Every refusal is checked at the servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafeas.grafeas_v1 import DiscoveryOccurrence

from gate.cli import main
from tests.integration.attest_env import ATTESTOR, PROJECT, GoogleApis, google_apis, key_version
from tests.integration.binauthz_server import verify_pkix
from tests.integration.grafeas_server import discovery_occurrence
from tests.integration.oci_push import Pusher, image_config, push_image
from tests.integration.registry_server import RegistryServer
from tests.integration.test_registry_client import binary, started  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
Status = DiscoveryOccurrence.AnalysisStatus
LABELS = {
    "org.opencontainers.image.source": "https://example.com/acme/api",
    "org.opencontainers.image.revision": "abc123",
}
KEY = key_version("EC_SIGN_P256_SHA256")


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:  # noqa: F811
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        apis_key = running.kms.add_key(KEY, "EC_SIGN_P256_SHA256")
        running.add_attestor(
            [("//cloudkms.googleapis.com/v1/" + KEY, apis_key.pem, "ECDSA_P256_SHA256")]
        )
        yield running


@pytest.fixture
def data(
    registry: RegistryServer, apis: GoogleApis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    approved = tmp_path / "approved.json"
    params = {
        "registries": {"approved": [f"{registry.host}/**"]},
        "freshness": {"max_age_days": 3650},  # the pushed configs say 2026-01-02; signing runs now
    }
    approved.write_text(json.dumps({"gate": {"params": params}}))
    for name, value in {
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": apis.server.address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_FETCH_TIMEOUT": "20",
    }.items():
        monkeypatch.setenv(name, value)
    return approved


def pushed(registry: RegistryServer, apis: GoogleApis, tag: str, user: str, status: int) -> str:
    """Push an image under ``tag``, record its scan, return ``host/acme/api@digest``."""
    image = push_image(
        Pusher(registry.url), "acme/api", image_config(user=user, labels=LABELS), tag=tag
    )
    resource = f"https://{registry.host}/acme/api@{image.digest}"
    apis.grafeas.put(PROJECT, discovery_occurrence(resource, status))
    return f"{registry.host}/acme/api@{image.digest}"


def gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def attest(apis: GoogleApis, data: Path, *images: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "attest",
        *images,
        "--attestor",
        ATTESTOR,
        "--key",
        "gcpkms://" + KEY,
        "--kms-endpoint",
        apis.server.address,
        "--binauthz-endpoint",
        apis.server.address,
        "--data",
        str(data),
        "--output",
        "json",
        *extra,
    ]


def test_attest_then_verify_then_attest_again(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "1.0", "65532", Status.FINISHED_SUCCESS)
    code, report, err = gate(capsys, *attest(apis, data, image))
    assert code == 0, json.dumps(report["results"][0]["decision"]["violations"])
    [result] = report["results"]
    assert result["status"] == "attested" and result["resolved"] == image
    assert f"resolved to {image}" in err
    [stored] = apis.stored()
    assert stored.resource_uri == f"https://{image}"
    [signature] = stored.attestation.signatures
    pem = apis.kms.keys[KEY].pem
    assert verify_pkix(
        pem, "ECDSA_P256_SHA256", stored.attestation.serialized_payload, signature.signature
    )

    verify = ["verify", f"{registry.host}/acme/api:1.0", "--attestor", ATTESTOR,
              "--binauthz-endpoint", apis.server.address, "--confirm", "--output", "json"]  # fmt: skip
    code, verified, _ = gate(capsys, *verify, "--data", str(data))
    assert code == 0 and verified["verified"] is True  # the tag was resolved to the digest
    assert verified["occurrences"][0]["binauthz"] == "VERIFIED"

    code, again, _ = gate(capsys, *attest(apis, data, image))
    assert code == 0 and again["results"][0]["status"] == "already attested"
    assert len(apis.stored()) == 1 and len(apis.kms.called("AsymmetricSign")) == 1


def test_a_tag_is_resolved_and_the_digest_attested(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "1.1", "65532", Status.FINISHED_SUCCESS)
    code, report, err = gate(capsys, *attest(apis, data, f"{registry.host}/acme/api:1.1"))
    [result] = report["results"]
    assert (code, result["status"], result["resolved"]) == (0, "attested", image)
    assert f"resolved to {image}" in err
    assert [o.resource_uri for o in apis.stored()] == [f"https://{image}"]
    payload = json.loads(apis.stored()[0].attestation.serialized_payload)
    assert payload["critical"]["identity"]["docker-reference"] == f"{registry.host}/acme/api"


def test_a_policy_deny_signs_and_stores_nothing(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "root", "root", Status.FINISHED_SUCCESS)
    code, report, _ = gate(capsys, *attest(apis, data, image))
    assert code == 1 and report["results"][0]["status"] == "denied"
    violations = report["results"][0]["decision"]["violations"]
    assert any(v["policy_id"] == "GATE-IMG-001" for v in violations)
    assert not apis.kms.called("AsymmetricSign") and not apis.grafeas.called("CreateOccurrence")


def test_an_unfinished_scan_denies(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "pending", "65532", Status.PENDING)
    code, report, _ = gate(capsys, *attest(apis, data, image))
    assert code == 1 and report["results"][0]["status"] == "denied"
    assert apis.stored() == []


def test_an_image_not_in_the_registry_is_an_error(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for missing in (
        f"{registry.host}/acme/api:absent",
        f"{registry.host}/acme/api@sha256:{'0' * 64}",
    ):
        code, report, _ = gate(capsys, *attest(apis, data, missing))
        assert code == 2
        [result] = report["results"]
        assert result["status"] == "errored" and result["errors"][0]["kind"] == "registry"
        assert result["errors"][0]["hint"]
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_several_images_dry_run_and_check_only(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = pushed(registry, apis, "2.0", "65532", Status.FINISHED_SUCCESS)
    bad = pushed(registry, apis, "2.0-root", "0", Status.FINISHED_SUCCESS)
    code, report, _ = gate(capsys, *attest(apis, data, good, bad, extra=("--dry-run",)))
    assert code == 1
    assert [r["status"] for r in report["results"]] == ["dry run", "denied"]
    occurrence = report["results"][0]["occurrence"]
    assert occurrence["resource_uri"] == f"https://{good}" and occurrence["kind"] == "ATTESTATION"
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")

    reads = len(apis.binauthz.called("GetAttestor"))
    check = ["attest", good, "--mode", "check-only", "--data", str(data), "--output", "json"]
    code, report, _ = gate(capsys, *check)
    assert code == 0 and report["results"][0]["status"] == "allowed"
    assert len(apis.binauthz.called("GetAttestor")) == reads and apis.stored() == []


def test_check_and_sign_without_an_attestor_is_an_error(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "3.0", "65532", Status.FINISHED_SUCCESS)
    code = main(["attest", image, "--data", str(data)])
    assert code == 2
    assert "needs an attestor and a key" in capsys.readouterr().err


def test_a_wrong_key_is_refused_before_anything_is_evaluated(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "4.0", "65532", Status.FINISHED_SUCCESS)
    other = key_version("EC_SIGN_P384_SHA384")
    apis.kms.add_key(other, "EC_SIGN_P384_SHA384")
    args = attest(apis, data, image)
    args[args.index("gcpkms://" + KEY)] = other
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "not one of the keys" in err and "hint:" in err
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_verify_an_unattested_image(
    registry: RegistryServer, apis: GoogleApis, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pushed(registry, apis, "5.0", "65532", Status.FINISHED_SUCCESS)
    code, out, _ = gate(
        capsys, "verify", image, "--attestor", ATTESTOR, "--binauthz-endpoint", apis.server.address
    )
    assert code == 1 and "no attestation by" in out
