"""schemathesis against the live server: ``gate serve`` over HTTPS (the test CA is given
to schemathesis through its requests session), with a valid token for an allowed caller.
Every operation in the checked-in OpenAPI document is called with generated valid and
invalid bodies (at most 100 examples per operation, derandomized); schemathesis's checks
must pass: no 5xx, every status, content type, header and body as documented, and
requests without the token refused.

The attestor in the document's examples is offered by this server and exists at the gRPC
test servers, so the example phase reaches a real attest (denied: the example image is
on a registry the policy data does not approve, so gate contacts no registry) and a real
verify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from gate.api.schema import document
from tests.api.conftest import KMS_KEY
from tests.api.issuer import AUDIENCE, CALLER, Issuer
from tests.conftest import require_module
from tests.integration.attest_env import google_apis
from tests.webhook.server import ServedGate, make_tls

schemathesis = require_module("schemathesis")
pytestmark = pytest.mark.integration
EXAMPLE_ATTESTOR = document()["components"]["schemas"]["AttestRequest"]["properties"]["attestor"][
    "examples"
][0]


@pytest.fixture(scope="module")
def live(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGate]:
    folder = tmp_path_factory.mktemp("schemathesis")
    data = folder / "data.json"  # approve a registry nothing listens on: no connections
    data.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": ["127.0.0.1:1/**"]}}}})
    )
    with google_apis() as apis:
        key = apis.kms.add_key(KMS_KEY, "EC_SIGN_P256_SHA256")
        keys = [("//cloudkms.googleapis.com/v1/" + KMS_KEY, key.pem, "ECDSA_P256_SHA256")]
        apis.add_attestor(keys, name=EXAMPLE_ATTESTOR, note="projects/my-project/notes/gate")
        address = apis.server.address
        env = {
            "GATE_API_AUDIENCE": AUDIENCE,
            "GATE_API_JWKS_URL": issuer.url,
            "GATE_API_CALLERS": CALLER,
            "GATE_API_ATTESTORS": f"{EXAMPLE_ATTESTOR}=gcpkms://{KMS_KEY}",
            "GATE_API_ATTESTOR_CALLERS": f"{EXAMPLE_ATTESTOR}={CALLER}",
            "GATE_API_CALLER_CONCURRENCY": "8",
            "GATE_DATA": str(data),
            "GATE_SCAN_SOURCE": "none",
            "GATE_KMS_ENDPOINT": address,
            "GATE_BINAUTHZ_ENDPOINT": address,
            "GATE_ARTIFACT_ANALYSIS_ENDPOINT": address,
            "GATE_GOOGLE_PLAINTEXT": "true",
            "GATE_GOOGLE_ANONYMOUS": "true",
        }
        tls = make_tls(folder)
        with ServedGate(tls, env=env, log=folder / "gate.log") as served:
            yield served


@pytest.fixture(scope="module")
def token(issuer: Issuer) -> str:
    return issuer.token()


# The document is static: the schema is loaded at import, the live URL given per call
# (schemathesis's lazy from_fixture loader does not run under pytest 9).
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_live_api_keeps_its_document(case: Any, live: ServedGate, token: str) -> None:
    # verify answers 400 to a schema-valid body whose image is not a reference (the
    # reference grammar is gate's parser, not a JSON Schema pattern; documented under 400)
    semantic = case.operation.path == "/v1/verify"
    case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance] if semantic else [],
        base_url=live.url,
        session=live.session,
        verify=live.session.verify,  # the test CA
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_the_served_document_is_the_checked_in_one(live: ServedGate) -> None:
    served = live.session.get(f"{live.url}/openapi.json", timeout=10).json()
    checked_in = json.loads((Path(__file__).parents[2] / "gate/api/openapi.json").read_text())
    assert served == checked_in
