"""attest and verify in process, against the gRPC test servers for Cloud KMS, Binary
Authorization and Container Analysis (reached through the real Google client libraries).
Every refusal is checked at the servers: a refused token signs nothing and calls nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gate.attest.settings import AttestSettings
from gate.config import Settings
from gate.reference import parse_reference
from tests.api.conftest import ATTESTOR, IMAGE, KMS_KEY, OTHER_CALLER, ApiFactory, bearer
from tests.api.issuer import Issuer
from tests.api.test_auth import bad_tokens
from tests.api.test_requests import conforms
from tests.integration.attest_env import GoogleApis, google_apis

pytestmark = pytest.mark.integration
ATTEST = {"image": IMAGE, "attestor": ATTESTOR}
MISSING = "projects/gate-test/attestors/missing"  # offered by gate, unknown to Google


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        key = running.kms.add_key(KMS_KEY, "EC_SIGN_P256_SHA256")
        running.add_attestor(
            [("//cloudkms.googleapis.com/v1/" + KMS_KEY, key.pem, "ECDSA_P256_SHA256")]
        )
        yield running


@pytest.fixture
def signing(make_api: ApiFactory, apis: GoogleApis) -> Any:
    address = apis.server.address
    settings = Settings(
        google_plaintext=True,
        google_anonymous=True,
        artifact_analysis_endpoint=address,
        attest=AttestSettings(kms_endpoint=address, binauthz_endpoint=address),
    )
    app = make_api(
        settings=settings,
        attestors=((ATTESTOR, "gcpkms://" + KMS_KEY), (MISSING, "gcpkms://" + KMS_KEY)),
        attestor_callers=((ATTESTOR, "build@ci-project.iam.gserviceaccount.com"),
                          (MISSING, "build@ci-project.iam.gserviceaccount.com")),
    )  # fmt: skip
    return app.test_client()


def calls(apis: GoogleApis) -> int:
    return len(apis.kms.calls) + len(apis.grafeas.calls) + len(apis.binauthz.calls)


def test_attest_signs_verify_finds_it_and_again_is_already_attested(
    signing: Any, apis: GoogleApis, issuer: Issuer
) -> None:
    auth = bearer(issuer.token())
    reply = signing.post("/v1/attest", json=ATTEST, headers=auth)
    assert reply.status_code == 200, reply.json
    conforms("AttestResponse", reply.json)
    [result] = reply.json["results"]
    assert result["status"] == "attested" and result["resolved"] == IMAGE
    assert reply.json["exit_code"] == 0 and result["decision"]["entry_point"] == "attest"
    [stored] = apis.stored(parse_reference(IMAGE))
    assert stored.resource_uri == f"https://{IMAGE}"

    verified = signing.post("/v1/verify", json={**ATTEST, "confirm": True}, headers=auth)
    assert verified.status_code == 200, verified.json
    conforms("VerifyResponse", verified.json)
    assert verified.json["verified"] is True
    assert verified.json["occurrences"][0]["binauthz"] == "VERIFIED"

    again = signing.post("/v1/attest", json=ATTEST, headers=auth).json
    assert again["results"][0]["status"] == "already attested"
    assert len(apis.kms.called("AsymmetricSign")) == 1 and len(apis.stored()) == 1


def test_dry_run_check_only_and_denied_sign_nothing(
    signing: Any, apis: GoogleApis, issuer: Issuer
) -> None:
    auth = bearer(issuer.token())
    dry = signing.post("/v1/attest", json={**ATTEST, "dry_run": True}, headers=auth).json
    assert dry["results"][0]["status"] == "dry run" and dry["results"][0]["occurrence"]
    check = signing.post("/v1/attest", json={**ATTEST, "mode": "check-only"}, headers=auth).json
    assert check["results"][0]["status"] == "allowed"
    denied = signing.post("/v1/attest", json={**ATTEST, "image": "nginx:latest"}, headers=auth)
    assert denied.json["results"][0]["status"] == "denied" and denied.json["exit_code"] == 1
    assert apis.stored() == [] and apis.kms.called("AsymmetricSign") == []


def test_refused_tokens_and_callers_sign_nothing_and_call_nothing(
    signing: Any, apis: GoogleApis, issuer: Issuer
) -> None:
    for name, token in bad_tokens(issuer).items():
        reply = signing.post("/v1/attest", json=ATTEST, headers=bearer(token))
        assert reply.status_code == 401, name
    stranger = issuer.token(email="ci@elsewhere.iam.gserviceaccount.com")
    assert signing.post("/v1/attest", json=ATTEST, headers=bearer(stranger)).status_code == 403
    other = issuer.token(email=OTHER_CALLER)  # may evaluate, may not sign
    assert signing.post("/v1/attest", json=ATTEST, headers=bearer(other)).status_code == 403
    assert calls(apis) == 0 and apis.stored() == []


def test_an_attestor_google_does_not_know_is_502_and_signs_nothing(
    signing: Any, apis: GoogleApis, issuer: Issuer
) -> None:
    body = {**ATTEST, "attestor": MISSING}
    reply = signing.post("/v1/attest", json=body, headers=bearer(issuer.token()))
    assert reply.status_code == 502, reply.json
    conforms("Error", reply.json)
    assert MISSING in reply.json["error"] and reply.json["hint"]
    assert apis.kms.called("AsymmetricSign") == [] and apis.stored() == []


def test_verify_refuses_what_it_cannot_check(
    signing: Any, apis: GoogleApis, issuer: Issuer
) -> None:
    auth = bearer(issuer.token())
    untried = signing.post("/v1/verify", json={**ATTEST, "image": IMAGE}, headers=auth).json
    assert untried["verified"] is False and untried["occurrences"] == []
    tag = signing.post("/v1/verify", json={**ATTEST, "image": "gcr.io/p/app:1"}, headers=auth)
    assert tag.status_code == 400 and "digest" in tag.json["hint"]
    other = {**ATTEST, "attestor": "projects/gate-test/attestors/not-offered"}
    assert signing.post("/v1/verify", json=other, headers=auth).status_code == 403
