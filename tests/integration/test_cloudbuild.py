"""deploy/cloudbuild.yaml run step by step, as written, the way Cloud Build runs it.

Every step of the file runs in order (:mod:`tests.integration.cloudbuild`): ``gate attest``
and ``gate verify`` are the real CLI; Artifact Analysis, Cloud KMS, Binary Authorization and
Container Analysis are the gRPC test servers, reached through the real Google client
libraries; the image goes to a real docker-registry on 127.0.0.1 (pushed by the ``docker``
stand-in, as no Docker daemon runs here; the report goes to the ``gcloud`` stand-in's
bucket folder). Artifact Analysis is played by a thread that, once the push has happened,
moves the digest's DISCOVERY occurrence from PENDING to SCANNING to FINISHED_SUCCESS after
a delay, or leaves it unfinished.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from grafeas.grafeas_v1 import DiscoveryOccurrence

from tests.conftest import REPO_ROOT, require
from tests.integration.attest_env import ATTESTOR, PROJECT, GoogleApis
from tests.integration.binauthz_server import verify_pkix
from tests.integration.cloudbuild import CloudBuild, StepResult
from tests.integration.cloudbuild_standins import install
from tests.integration.grafeas_server import GrafeasServicer, discovery_occurrence
from tests.integration.oci_push import DOCKER_MANIFEST
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import KEY, apis, registry  # noqa: F401 - fixtures
from tests.integration.test_registry_client import binary  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
Status = DiscoveryOccurrence.AnalysisStatus
BUILD_FILE = REPO_ROOT / "deploy" / "cloudbuild.yaml"
DOCKERFILE_OF_GATE = REPO_ROOT / "Dockerfile"
GATE_DIGEST = "sha256:" + "9" * 64
DOCKERFILE = """FROM scratch
LABEL org.opencontainers.image.source=https://example.com/acme/api org.opencontainers.image.revision={revision}
USER 65532
"""


class ArtifactAnalysis(threading.Thread):
    """Scans what the build pushed: once ``digest_file`` names a digest, its DISCOVERY
    occurrence is PENDING, then SCANNING after ``scanning_after`` s, then FINISHED_SUCCESS
    after ``finished_after`` s (``None``: the scan never finishes)."""

    def __init__(
        self,
        grafeas: GrafeasServicer,
        repository: str,
        digest_file: Path,
        scanning_after: float,
        finished_after: float | None,
    ) -> None:
        super().__init__(daemon=True)
        self.grafeas, self.repository, self.digest_file = grafeas, repository, digest_file
        self.steps = [(0.0, Status.PENDING), (scanning_after, Status.SCANNING)]
        if finished_after is not None:
            self.steps.append((finished_after, Status.FINISHED_SUCCESS))
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set() and not self._digest():
            time.sleep(0.05)
        if self.stopped.is_set():
            return
        resource = f"https://{self.repository}@{self._digest()}"
        name = f"projects/{PROJECT}/occurrences/discovery-of-the-push"
        started = time.monotonic()
        for at, status in self.steps:
            if self.stopped.wait(max(0.0, started + at - time.monotonic())):
                return
            self.grafeas.put(PROJECT, discovery_occurrence(resource, status, name=name))

    def _digest(self) -> str:
        text = self.digest_file.read_text().strip() if self.digest_file.exists() else ""
        return text if text.startswith("sha256:") else ""


@dataclass
class Build:
    results: list[StepResult]
    workspace: Path
    state: Path
    build: CloudBuild

    def steps(self) -> dict[str, StepResult]:
        return {result.id: result for result in self.results}

    def report(self, build_id: str) -> dict[str, object]:
        bucket = self.state / "gcs" / f"{PROJECT}_cloudbuild" / "gate-reports" / build_id
        loaded: dict[str, object] = json.loads((bucket / "attestation.json").read_text())
        return loaded


def run_build(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
    *,
    short_sha: str,
    scan_wait: int,
    finished_after: float | None,
) -> Build:
    workspace, state = tmp_path / "workspace", tmp_path / "state"
    workspace.mkdir()
    (workspace / "Dockerfile").write_text(DOCKERFILE.format(revision=short_sha))
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{registry.host}/**"]}}}})
    )
    standins = install(tmp_path / "bin", state)
    address = apis.server.address
    env = {
        **os.environ,
        **standins,
        "PATH": f"{tmp_path / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
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
    scanner = ArtifactAnalysis(
        apis.grafeas, f"{registry.host}/acme/api", workspace / "digest", 1.0, finished_after
    )
    scanner.start()
    try:
        results = build.run(workspace, env, timeout=scan_wait + 120)
    finally:
        scanner.stopped.set()
        scanner.join(5)
    return Build(results, workspace, state, build)


def image_user() -> str:
    """The user gate's image runs as (its Dockerfile's last USER): on Cloud Build, gate's
    steps run as that user in a /workspace that belongs to root."""
    require(os.geteuid() == 0, "running gate's steps as its image's user needs root")
    users = [line.split()[1] for line in DOCKERFILE_OF_GATE.read_text().splitlines()
             if line.startswith("USER ")]  # fmt: skip
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    return users[-1]


def registry_digest(
    registry: RegistryServer,  # noqa: F811
    reference: str,
) -> str:
    repository, _, tag = reference.partition("/")[2].rpartition(":")
    reply = requests.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": DOCKER_MANIFEST},
        timeout=10,
    )
    reply.raise_for_status()
    return reply.headers["Docker-Content-Digest"]


def test_a_scan_that_finishes_during_the_wait_is_attested(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = run_build(registry, apis, tmp_path, short_sha="a1b2c3d", scan_wait=60, finished_after=4)
    steps = done.steps()
    assert list(steps) == ["check", "build", "push", "attest", "report", "decision", "verify"]
    assert all(step.code == 0 for step in done.results), done.results
    digest = (done.workspace / "digest").read_text().strip()
    image = f"{registry.host}/acme/api@{digest}"
    # The digest the push reported is the one the registry serves for the tag: what
    # Cloud Build records for `images:` (and attaches the provenance to).
    [declared] = done.build.images
    assert declared == f"{registry.host}/acme/api:a1b2c3d"
    assert registry_digest(registry, declared) == digest
    report = done.report("build-a1b2c3d")
    [result] = report["results"]  # type: ignore[misc]
    assert (result["status"], result["resolved"]) == ("attested", image)
    assert report["exit_code"] == 0 and report["errors"] == []
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
    report = done.report("build-e4f5a6b")  # kept, though the build failed
    [result] = report["results"]  # type: ignore[misc]
    assert result["status"] == "denied" and report["exit_code"] == 1
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
