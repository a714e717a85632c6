"""The signing API end to end: ``gate serve`` (gunicorn, two workers) over HTTPS with a test
CA; a real docker-registry on 127.0.0.1 for the images; one gRPC server for Artifact
Analysis, Cloud KMS, Binary Authorization and Container Analysis; the test issuer's JWKS
on 127.0.0.1 and real RS256 tokens. evaluate, attest and verify with a valid token;
every refused token causes no KMS, Binary Authorization or Container Analysis call.
deploy/cloudbuild-service.yaml runs against the served gate in test_cloudbuild_service.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from grafeas.grafeas_v1 import DiscoveryOccurrence

from tests.api.conftest import ATTESTOR, KEY, KMS_KEY, OTHER_CALLER, bearer
from tests.api.issuer import AUDIENCE, CALLER, Issuer
from tests.api.test_auth import bad_tokens
from tests.api.test_requests import conforms
from tests.conftest import require_module
from tests.integration.attest_env import PROJECT, GoogleApis, google_apis
from tests.integration.binauthz_server import verify_pkix
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import pushed
from tests.integration.test_registry_client import binary, started  # noqa: F401 - fixtures
from tests.webhook.server import ServedGate, Tls, make_tls

pytestmark = pytest.mark.integration
require_module("trustme")
Status = DiscoveryOccurrence.AnalysisStatus


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:  # noqa: F811
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        key = running.kms.add_key(KMS_KEY, "EC_SIGN_P256_SHA256")
        running.add_attestor(
            [("//cloudkms.googleapis.com/v1/" + KMS_KEY, key.pem, "ECDSA_P256_SHA256")]
        )
        yield running


def serving_env(
    issuer: Issuer, registry: RegistryServer, apis: GoogleApis, data: Path
) -> dict[str, str]:
    address = apis.server.address
    return {
        "GATE_API_AUDIENCE": AUDIENCE,
        "GATE_API_JWKS_URL": issuer.url,
        "GATE_API_CALLERS": f"{CALLER},{OTHER_CALLER}",
        "GATE_API_ATTESTORS": f"{ATTESTOR}={KEY}",
        "GATE_API_ATTESTOR_CALLERS": f"{ATTESTOR}={CALLER}",
        "GATE_API_MAX_BODY": "4096",
        "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,
        "GATE_KMS_ENDPOINT": address,
        "GATE_BINAUTHZ_ENDPOINT": address,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_FETCH_TIMEOUT": "20",
    }


@pytest.fixture(scope="module")
def served(
    issuer: Issuer,
    registry: RegistryServer,
    apis: GoogleApis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedGate]:
    folder = tmp_path_factory.mktemp("api-serve")
    params = {
        "registries": {"approved": [f"{registry.host}/**"]},
        "freshness": {"max_age_days": 3650},
    }
    data = folder / "approved.json"
    data.write_text(json.dumps({"gate": {"params": params}}))
    tls: Tls = make_tls(folder)
    env = serving_env(issuer, registry, apis, data)
    with ServedGate(tls, env=env, log=folder / "gate.log") as gate:
        yield gate


def call(served: ServedGate, operation: str, body: Any, token: str) -> requests.Response:
    url = f"{served.url}/v1/{operation}"
    return served.session.post(url, json=body, headers=bearer(token), timeout=60)


def counts(apis: GoogleApis) -> tuple[int, int, int]:
    return len(apis.kms.calls), len(apis.binauthz.calls), len(apis.grafeas.calls)


def test_refused_tokens_cause_no_google_call(
    served: ServedGate, apis: GoogleApis, issuer: Issuer
) -> None:
    before = counts(apis)
    body = {"image": "127.0.0.1:1/acme/api:1.0", "attestor": ATTESTOR}
    for name, token in bad_tokens(issuer).items():
        reply = call(served, "attest", body, token)
        assert reply.status_code == 401, (name, reply.text)
        conforms("Error", reply.json())
    assert call(served, "attest", body, issuer.token(email=OTHER_CALLER)).status_code == 403
    assert counts(apis) == before and apis.stored() == []


def test_evaluate_attest_verify_over_https(
    served: ServedGate, registry: RegistryServer, apis: GoogleApis, issuer: Issuer
) -> None:
    image = pushed(registry, apis, "1.0", "65532", Status.FINISHED_SUCCESS)
    tag = f"{registry.host}/acme/api:1.0"
    token = issuer.token()
    evaluated = call(served, "evaluate", {"image": tag}, token)
    assert evaluated.status_code == 200, evaluated.text
    conforms("EvaluateResponse", evaluated.json())
    assert evaluated.json()["allowed"] is True, evaluated.json()

    attested = call(served, "attest", {"image": tag, "attestor": ATTESTOR}, token)
    assert attested.status_code == 200, attested.text
    conforms("AttestResponse", attested.json())
    [result] = attested.json()["results"]
    assert (result["status"], result["resolved"]) == ("attested", image)
    [stored] = apis.stored()
    assert stored.resource_uri == f"https://{image}"
    pem = apis.kms.keys[KMS_KEY].pem
    [signature] = stored.attestation.signatures
    assert verify_pkix(pem, "ECDSA_P256_SHA256", stored.attestation.serialized_payload,
                       signature.signature)  # fmt: skip

    body = {"image": tag, "attestor": ATTESTOR, "confirm": True}  # the tag is resolved
    verified = call(served, "verify", body, issuer.token(email=OTHER_CALLER))
    assert verified.status_code == 200, verified.text
    conforms("VerifyResponse", verified.json())
    assert verified.json()["verified"] is True
    assert verified.json()["occurrences"][0]["name"] == stored.name

    log = (served.log or Path()).read_text()
    assert f'"caller": "{CALLER}"' in log and '"outcome": "attested"' in log
    metrics = served.session.get(f"{served.url}/metrics", timeout=10).text
    assert 'gate_api_requests_total{operation="attest",outcome="attested"}' in metrics


def test_a_denied_image_is_not_signed_over_https(
    served: ServedGate, registry: RegistryServer, apis: GoogleApis, issuer: Issuer
) -> None:
    image = pushed(registry, apis, "root", "root", Status.FINISHED_SUCCESS)
    reply = call(served, "attest", {"image": image, "attestor": ATTESTOR}, issuer.token())
    assert reply.status_code == 200
    [result] = reply.json()["results"]
    assert result["status"] == "denied" and reply.json()["exit_code"] == 1
    assert any(v["policy_id"] == "GATE-IMG-001" for v in result["decision"]["violations"])
    assert all(o.resource_uri != f"https://{image}" for o in apis.stored())


def test_a_chunked_body_over_the_limit_is_413(served: ServedGate, issuer: Issuer) -> None:
    chunks = (b'{"image": "' + b"a" * 1024 for _ in range(8))
    reply = served.session.post(
        f"{served.url}/v1/evaluate",
        data=chunks,
        headers={**bearer(issuer.token()), "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 413 and reply.json()["kind"] == "http", reply.text
