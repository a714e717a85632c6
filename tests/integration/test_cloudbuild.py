"""deploy/cloudbuild.yaml run step by step, as written, the way Cloud Build runs it.

Every step of the file runs in order (:mod:`tests.integration.cloudbuild`): ``gate attest``
and ``gate verify`` are the real CLI; Artifact Analysis, Cloud KMS, Binary Authorization and
Container Analysis are the gRPC test servers, reached through the real Google client
libraries; the image goes to a real docker-registry on 127.0.0.1 (pushed by the ``docker``
stand-in, as no Docker daemon runs here; the report goes to the ``gcloud`` stand-in's
bucket folder). Artifact Analysis is played by a thread that, once the push has happened,
moves the digest's DISCOVERY occurrence from PENDING to SCANNING to FINISHED_SUCCESS after
a delay, or leaves it unfinished (:mod:`tests.integration.cloudbuild_run`, shared with
tests/api/test_cloudbuild_service.py, which runs deploy/cloudbuild-service.yaml).
"""

from __future__ import annotations

import doctest
import importlib
import json
import os
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require
from tests.integration.attest_env import ATTESTOR, PROJECT, GoogleApis
from tests.integration.binauthz_server import verify_pkix
from tests.integration.cloudbuild import CloudBuild
from tests.integration.cloudbuild_run import Finished, prepare, registry_digest, run_scanned
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import KEY, apis, registry  # noqa: F401 - fixtures
from tests.integration.test_registry_client import binary  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
BUILD_FILE = REPO_ROOT / "deploy" / "cloudbuild.yaml"
DOCKERFILE_OF_GATE = REPO_ROOT / "Dockerfile"
GATE_DIGEST = "sha256:" + "9" * 64
DOCKERFILE = """FROM scratch
LABEL org.opencontainers.image.source=https://example.com/acme/api org.opencontainers.image.revision={revision}
USER 65532
"""


def run_build(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
    *,
    short_sha: str,
    scan_wait: int,
    finished_after: float | None,
) -> Finished:
    prepared = prepare(tmp_path, DOCKERFILE.format(revision=short_sha))
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{registry.host}/**"]}}}})
    )
    address = apis.server.address
    env = {
        "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,  # 127.0.0.1 names no project; AR does
        "GATE_KMS_ENDPOINT": address,
        "GATE_BINAUTHZ_ENDPOINT": address,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
    }
    build = CloudBuild.load(
        BUILD_FILE,
        {"PROJECT_ID": PROJECT, "BUILD_ID": f"build-{short_sha}", "SHORT_SHA": short_sha},
        _REPOSITORY=f"{registry.host}/acme/api",
        _ATTESTOR=ATTESTOR,
        _KMS_KEY=KEY,
        _GATE_DIGEST=GATE_DIGEST,
        _SCAN_WAIT=str(scan_wait),
    )
    build.default_entrypoints[build.values["_GATE_IMAGE"]] = "gate"
    build.users[build.values["_GATE_IMAGE"]] = image_user()
    return run_scanned(build, prepared, env, grafeas=apis.grafeas,
                       finished_after=finished_after, step_timeout=scan_wait + 120)  # fmt: skip


def image_user() -> str:
    """The user gate's image runs as (its Dockerfile's last USER): on Cloud Build, gate's
    steps run as that user in a /workspace that belongs to root."""
    require(os.geteuid() == 0, "running gate's steps as its image's user needs root")
    users = [line.split()[1] for line in DOCKERFILE_OF_GATE.read_text().splitlines()
             if line.startswith("USER ")]  # fmt: skip
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    return users[-1]


def test_a_scan_that_finishes_during_the_wait_is_attested(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = run_build(registry, apis, tmp_path, short_sha="a1b2c3d", scan_wait=60, finished_after=4)
    steps = done.steps()
    assert list(steps) == ["check", "build", "push", "attest", "report", "decision", "verify"]
    assert all(step.code == 0 for step in done.results), done.results
    digest = done.digest()
    image = f"{registry.host}/acme/api@{digest}"
    # The digest the push reported is the one the registry serves for the tag: what
    # Cloud Build records for `images:` (and attaches the provenance to).
    [declared] = done.build.images
    assert declared == f"{registry.host}/acme/api:a1b2c3d"
    assert registry_digest(registry, declared) == digest
    kept = done.report()
    [result] = kept["results"]
    assert (result["status"], result["resolved"]) == ("attested", image)
    assert kept["exit_code"] == 0 and kept["errors"] == []
    # It waited for the scan (PENDING, SCANNING, then finished after ~4 s) and no longer.
    assert 3.5 <= steps["attest"].seconds < 40, steps["attest"].seconds
    [stored] = apis.stored()
    assert stored.resource_uri == f"https://{image}"
    [signature] = stored.attestation.signatures
    assert verify_pkix(apis.kms.keys[KEY].pem, "ECDSA_P256_SHA256",
                       stored.attestation.serialized_payload, signature.signature)  # fmt: skip
    assert apis.validation.called("ValidateAttestationOccurrence")  # verify --confirm


def test_a_scan_that_never_finishes_is_denied_within_the_wait_and_the_report_kept(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = run_build(
        registry, apis, tmp_path, short_sha="e4f5a6b", scan_wait=5, finished_after=None
    )
    steps = done.steps()
    assert list(steps) == ["check", "build", "push", "attest", "report", "decision"]
    assert [s.code for s in done.results] == [0, 0, 0, 0, 0, 1]  # the build fails: denied
    assert 4.5 <= steps["attest"].seconds < 25, steps["attest"].seconds
    kept = done.report()  # kept, though the build failed
    [result] = kept["results"]
    assert result["status"] == "denied" and kept["exit_code"] == 1
    [scan] = [v for v in result["decision"]["violations"] if v["policy_id"] == "GATE-IMG-002"]
    assert "not finished (SCANNING)" in scan["message"] and "after waiting" in scan["message"]
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_the_build_refuses_gate_by_tag(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
) -> None:
    build = CloudBuild.load(
        BUILD_FILE, {"PROJECT_ID": PROJECT, "BUILD_ID": "b", "SHORT_SHA": "0000000"},
        _GATE_DIGEST="latest",
    )  # fmt: skip
    results = build.run(tmp_path, os.environ, timeout=30)
    assert [(r.id, r.code) for r in results] == [("check", 2)]


@pytest.mark.parametrize(
    "module",
    [
        "tests.integration.cloudbuild",
        "tests.integration.cloudbuild_run",
        "tests.integration.cloudbuild_standins",
    ],
)
def test_the_runner_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
