"""deploy/cloudbuild-service.yaml run step by step, as written, against gate served over HTTPS.

Every step of the file runs in order through the Cloud Build runner
(:mod:`tests.integration.cloudbuild`), as tests/integration/test_cloudbuild.py runs
deploy/cloudbuild.yaml: the image goes to a real docker-registry on 127.0.0.1 (the
``docker`` stand-in pushes it); the ``gcloud`` stand-in mints the build's ID token with
the test issuer's key, as the metadata server does for the build's service account, and
keeps the report in its bucket folder; curl calls ``gate serve`` (gunicorn, one worker,
TLS from a test CA), whose Artifact Analysis, KMS, Binary Authorization and Container
Analysis are the gRPC test servers. Artifact Analysis scans the push as it would on
Google Cloud, seconds later (:mod:`tests.integration.cloudbuild_run`); the wait for it is
gate's own (``GATE_SCAN_WAIT``, scaled down to :data:`SCAN_WAIT` here; the deployed
figures are checked against each other in test_deploy.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from grafeas.grafeas_v1 import DiscoveryOccurrence

from tests.api.conftest import ATTESTOR, KMS_KEY, bearer
from tests.api.issuer import AUDIENCE, CALLER, ISSUER, Issuer
from tests.api.test_served import apis, registry, serving_env  # noqa: F401 - fixtures
from tests.conftest import REPO_ROOT, require_module
from tests.integration.attest_env import PROJECT, GoogleApis
from tests.integration.binauthz_server import verify_pkix
from tests.integration.cloudbuild import CloudBuild
from tests.integration.cloudbuild_run import Finished, prepare, registry_digest, run_scanned
from tests.integration.cloudbuild_standins import grant_identity
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import pushed
from tests.integration.test_registry_client import binary  # noqa: F401 - fixtures
from tests.webhook.server import ServedGate, make_tls

pytestmark = pytest.mark.integration
require_module("trustme")
Status = DiscoveryOccurrence.AnalysisStatus
BUILD_FILE = REPO_ROOT / "deploy" / "cloudbuild-service.yaml"
SCAN_WAIT = 12  # GATE_SCAN_WAIT of the served gate, in seconds
DOCKERFILE = """FROM scratch
LABEL org.opencontainers.image.source=https://example.com/acme/api org.opencontainers.image.revision={revision}
USER 65532
"""


@pytest.fixture(scope="module")
def served(
    issuer: Issuer,
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedGate]:
    """gate as the signing service, waiting up to SCAN_WAIT s for a scan; one worker and
    one call in flight per caller, so that a second call of the build's account is a 429."""
    folder = tmp_path_factory.mktemp("cloudbuild-service")
    data = folder / "approved.json"
    params = {"registries": {"approved": [f"{registry.host}/**"]}}
    data.write_text(json.dumps({"gate": {"params": params}}))
    env = {
        **serving_env(issuer, registry, apis, data),
        "GATE_SCAN_WAIT": str(SCAN_WAIT),
        "GATE_API_TIMEOUT": str(SCAN_WAIT + 60),
        "GATE_API_CALLER_CONCURRENCY": "1",
    }
    with ServedGate(make_tls(folder), env=env, workers=1, log=folder / "gate.log") as gate:
        yield gate


Build = Callable[..., Finished]


@pytest.fixture
def run_build(
    served: ServedGate,
    issuer: Issuer,
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    tmp_path: Path,
) -> Build:
    """Runs the build file; ``build(short_sha, finished_after, **substitutions)``."""
    key = issuer.keys["test-key-1"].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    def build(short_sha: str, finished_after: float | None, **overrides: str) -> Finished:
        prepared = prepare(tmp_path, DOCKERFILE.format(revision=short_sha))
        grant_identity(prepared.state, email=CALLER, key_pem=key, kid="test-key-1", issuer=ISSUER)
        substitutions = {"_REPOSITORY": f"{registry.host}/acme/api", "_ATTESTOR": ATTESTOR,
                         "_GATE_URL": served.url, "_GATE_AUDIENCE": AUDIENCE}  # fmt: skip
        loaded = CloudBuild.load(
            BUILD_FILE,
            {"PROJECT_ID": PROJECT, "BUILD_ID": f"build-{short_sha}", "SHORT_SHA": short_sha},
            **{**substitutions, **overrides},
        )
        env = {"CURL_CA_BUNDLE": str(served.session.verify)}  # the test CA; Cloud Run's is public
        return run_scanned(loaded, prepared, env, grafeas=apis.grafeas,
                           finished_after=finished_after, step_timeout=SCAN_WAIT + 120)  # fmt: skip

    return build


def stored_for(apis: GoogleApis, image: str) -> list[object]:  # noqa: F811
    return [o for o in apis.stored() if o.resource_uri == f"https://{image}"]


def signs(apis: GoogleApis) -> int:  # noqa: F811
    return sum(call.method == "AsymmetricSign" for call in apis.kms.calls)


def refused_429(served: ServedGate) -> float:
    metrics = served.session.get(f"{served.url}/metrics", timeout=10).text
    lines = [line for line in metrics.splitlines()
             if line.startswith('gate_api_refused_total{status="429"}')]  # fmt: skip
    return sum(float(line.split()[-1]) for line in lines)


def test_a_scan_that_finishes_during_gates_wait_is_attested(
    run_build: Build,
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
) -> None:
    done = run_build("c0ffee1", finished_after=4)
    steps = done.steps()
    assert list(steps) == ["build", "push", "attest", "report", "decision", "verify"]
    assert all(step.code == 0 for step in done.results), done.results
    image = f"{registry.host}/acme/api@{done.digest()}"
    # The digest the push reported is the one the registry serves for the tag: what
    # Cloud Build records for `images:` (and attaches the provenance to).
    [declared] = done.build.images
    assert declared == f"{registry.host}/acme/api:c0ffee1"
    assert registry_digest(registry, declared) == done.digest()
    report = done.report()
    [result] = report["results"]
    assert (result["status"], result["resolved"]) == ("attested", image)
    assert report["exit_code"] == 0
    # gate held the call open while the scan ran (PENDING, SCANNING, finished after ~4 s).
    assert 3.5 <= steps["attest"].seconds < SCAN_WAIT + 20, steps["attest"].seconds
    [stored] = stored_for(apis, image)
    [signature] = stored.attestation.signatures  # type: ignore[attr-defined]
    assert verify_pkix(apis.kms.keys[KMS_KEY].pem, "ECDSA_P256_SHA256",
                       stored.attestation.serialized_payload,  # type: ignore[attr-defined]
                       signature.signature)  # fmt: skip
    verification = json.loads((done.workspace / "verification.json").read_text())
    assert verification["verified"] is True
    assert verification["occurrences"][0]["name"] == stored.name  # type: ignore[attr-defined]


def test_a_scan_that_never_finishes_is_denied_within_gates_wait_and_the_report_kept(
    run_build: Build,
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
) -> None:
    signed = signs(apis)
    done = run_build("dead0b0", finished_after=None)
    assert done.codes() == {"build": 0, "push": 0, "attest": 0, "report": 0, "decision": 1}
    seconds = done.steps()["attest"].seconds
    assert SCAN_WAIT - 0.5 <= seconds < SCAN_WAIT + 20, seconds
    report = done.report()  # kept, though the build failed
    [result] = report["results"]
    assert result["status"] == "denied" and report["exit_code"] == 1
    [scan] = [v for v in result["decision"]["violations"] if v["policy_id"] == "GATE-IMG-002"]
    assert "not finished (SCANNING)" in scan["message"] and "after waiting" in scan["message"]
    assert stored_for(apis, f"{registry.host}/acme/api@{done.digest()}") == []
    assert signs(apis) == signed


def test_a_busy_service_is_asked_again_and_the_report_is_its_one_answer(
    run_build: Build,
    served: ServedGate,
    issuer: Issuer,
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
) -> None:
    """Another call of the build's account holds its only slot while it waits for a scan:
    the build's first call is a 429 (Retry-After 5), curl asks again, and the file holds
    the one answer that counts (a redirect would have kept both bodies, end to end)."""
    blocker = pushed(registry, apis, "blocker", "65532", Status.SCANNING)
    refused = refused_429(served)
    holding = threading.Thread(
        target=lambda: served.session.post(
            f"{served.url}/v1/evaluate", json={"image": blocker},
            headers=bearer(issuer.token()), timeout=SCAN_WAIT + 60,
        ),
        daemon=True,
    )  # fmt: skip
    holding.start()
    try:
        done = run_build("b05ee01", finished_after=1)
    finally:
        holding.join(SCAN_WAIT + 60)
    assert refused_429(served) > refused, "the build's call was never refused as busy"
    assert all(step.code == 0 for step in done.results), done.results
    report = done.report()
    assert report["exit_code"] == 0 and report["results"][0]["status"] == "attested"


def test_an_attestor_gate_does_not_offer_is_an_error_and_its_answer_kept(
    run_build: Build,
) -> None:
    """An HTTP error is no decision: the build fails with 2, and gate's error is kept."""
    done = run_build("0ff1ce5", finished_after=1, _ATTESTOR=f"projects/{PROJECT}/attestors/other")
    assert done.codes() == {"build": 0, "push": 0, "attest": 0, "report": 0, "decision": 2}
    report = done.report()
    assert report["kind"] == "forbidden" and "attestor" in report["error"], report
    assert set(report) == {"error", "hint", "kind"}


def test_a_service_that_does_not_answer_is_an_error_and_why_is_kept(run_build: Build) -> None:
    closed = "https://127.0.0.1:1"  # nothing listens there: curl cannot connect
    done = run_build("5ca1ab1", finished_after=1, _GATE_URL=closed)
    assert done.codes() == {"build": 0, "push": 0, "attest": 0, "report": 0, "decision": 2}
    report = done.report()
    assert report["kind"] == "transport" and "curl exit code 7" in report["error"], report
