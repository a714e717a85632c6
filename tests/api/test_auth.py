"""Tokens and callers, in process: real RS256 tokens from the test issuer, its JWKS served
on 127.0.0.1. Every refused token is a 401 (a caller gate does not allow: 403) before the
body is even read; health, metrics and the OpenAPI document need no token."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gate.api.auth import Access, Forbidden, TokenVerifier, Unauthenticated
from gate.api.jwks import Jwks, JwksUnavailable
from tests.api.conftest import ATTESTOR, IMAGE, OTHER_CALLER, ApiFactory, bearer
from tests.api.issuer import AUDIENCE, CALLER, Issuer
from tests.webhook.server import make_tls

EVALUATE = {"image": IMAGE}


def bad_tokens(issuer: Issuer) -> dict[str, str]:
    now = int(time.time())
    return {
        "wrong audience": issuer.token(aud="https://someone-else.example"),
        "expired": issuer.token(iat=now - 7200, exp=now - 3600),
        "alg none": issuer.alg_none(),
        "HS256 with the public keys as secret": issuer.hs256(),
        "signed by another key": issuer.token(signed_by=issuer.outsider),
        "unknown key id": issuer.token(kid="not-published", signed_by=issuer.outsider),
        "another issuer": issuer.token(iss="https://evil.example"),
        "email not verified": issuer.token(email_verified=False),
        "email_verified as a string": issuer.token(email_verified="true"),
        "no email": issuer.token(email=None),
        "no expiry": issuer.token(exp=None),
        "issued in the future": issuer.token(iat=now + 3600, exp=now + 7200),
        "not yet valid": issuer.token(nbf=now + 3600),
        "garbage": "not.a.token",
        "empty": "",
    }


def test_a_valid_token_is_accepted(client: Any, issuer: Issuer) -> None:
    reply = client.post("/v1/evaluate", json=EVALUATE, headers=bearer(issuer.token()))
    assert reply.status_code == 200, reply.json
    assert reply.json["allowed"] is True and reply.json["results"][0]["image"] == IMAGE


def test_every_bad_token_is_a_401(client: Any, issuer: Issuer) -> None:
    for name, token in bad_tokens(issuer).items():
        reply = client.post("/v1/attest", json=EVALUATE, headers=bearer(token))
        assert reply.status_code == 401, (name, reply.json)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer"), name
        assert reply.json["kind"] == "unauthenticated" and reply.json["hint"], name


def test_missing_or_other_schemes_are_401(client: Any, issuer: Issuer) -> None:
    for headers in ({}, {"Authorization": f"Basic {issuer.token()}"}, {"Authorization": "Bearer"}):
        reply = client.post("/v1/evaluate", json=EVALUATE, headers=headers)
        assert reply.status_code == 401 and "bearer" in reply.json["hint"].lower()


def test_small_clock_skew_is_tolerated(client: Any, issuer: Issuer) -> None:
    now = int(time.time())
    token = issuer.token(iat=now + 20, exp=now - 10)  # 30 s leeway by default
    assert client.post("/v1/evaluate", json=EVALUATE, headers=bearer(token)).status_code == 200


def test_callers_by_email_and_domain(client: Any, issuer: Issuer) -> None:
    for email, status in [
        ("ci@trusted.iam.gserviceaccount.com", 200),  # *@trusted…
        ("CI@Trusted.IAM.gserviceaccount.com", 200),  # emails compare without case
        ("ci@untrusted.iam.gserviceaccount.com", 403),
        ("ci@evil-trusted.iam.gserviceaccount.com", 403),
        ("trusted.iam.gserviceaccount.com@evil.example", 403),
    ]:
        reply = client.post(
            "/v1/evaluate", json=EVALUATE, headers=bearer(issuer.token(email=email))
        )
        assert reply.status_code == status, (email, reply.json)
    assert "GATE_API_CALLERS" in reply.json["hint"]


def test_a_caller_not_allowed_that_attestor_is_403_before_anything(
    client: Any, issuer: Issuer
) -> None:
    body = {"image": IMAGE, "attestor": ATTESTOR}
    reply = client.post("/v1/attest", json=body, headers=bearer(issuer.token(email=OTHER_CALLER)))
    assert reply.status_code == 403 and "GATE_API_ATTESTOR_CALLERS" in reply.json["hint"]
    unknown = {"image": IMAGE, "attestor": "projects/gate-test/attestors/other"}
    reply = client.post("/v1/attest", json=unknown, headers=bearer(issuer.token()))
    assert reply.status_code == 403  # an attestor gate does not offer: the same answer


def test_unauthenticated_endpoints_stay_open(client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/openapi.json").json["info"]["title"] == "gate signing service"


def test_the_jwks_is_fetched_once_and_cached(make_api: ApiFactory, issuer: Issuer) -> None:
    client = make_api().test_client()
    before = issuer.fetches
    for _ in range(5):
        client.post("/v1/evaluate", json=EVALUATE, headers=bearer(issuer.token()))
    assert issuer.fetches == before + 1


def test_unknown_key_ids_refresh_at_most_once_per_interval(issuer: Issuer) -> None:
    keys = Jwks(issuer.url, min_refresh=0.5)
    verifier = TokenVerifier(
        keys, audience=AUDIENCE, issuers=[issuer.claims()["iss"]], clock_skew=0
    )
    assert verifier.caller(f"Bearer {issuer.token()}").email == CALLER
    time.sleep(0.6)
    for n in range(20):  # made-up key ids: one refresh, then refused from the cache
        with pytest.raises(Unauthenticated, match="does not publish"):
            verifier.claims(issuer.token(kid=f"made-up-{n}", signed_by=issuer.outsider))
    assert keys.fetches == 2


def test_a_rotated_key_is_picked_up(issuer: Issuer) -> None:
    keys = Jwks(issuer.url, min_refresh=0)
    verifier = TokenVerifier(
        keys, audience=AUDIENCE, issuers=[issuer.claims()["iss"]], clock_skew=0
    )
    verifier.claims(issuer.token())
    issuer.add_key("test-key-2")
    try:
        assert verifier.caller(f"Bearer {issuer.token(kid='test-key-2')}").email == CALLER
    finally:
        issuer.published.discard("test-key-2")


def test_an_issuer_outage_keeps_the_keys_held_then_fails_with_503(
    make_api: ApiFactory, issuer: Issuer
) -> None:
    keys = Jwks(issuer.url, min_refresh=0)
    keys.key("test-key-1")
    issuer.down = True
    try:
        keys._expires = (
            time.monotonic() - 1
        )  # stale: a refresh is attempted, fails, the old keys stay
        assert keys.key("test-key-1") is not None
        keys.stale_for = 0.0
        with pytest.raises(JwksUnavailable):
            keys.key("test-key-1")
        reply = (
            make_api()
            .test_client()
            .post("/v1/evaluate", json=EVALUATE, headers=bearer(issuer.token()))
        )
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "30"
    finally:
        issuer.down = False


def test_access_rules() -> None:
    access = Access(["*@a.example"], {ATTESTOR: ["x@a.example"]})
    access.check_caller("y@a.example")
    access.check_attestor("x@a.example", ATTESTOR)
    with pytest.raises(Forbidden):
        access.check_attestor("y@a.example", ATTESTOR)


def test_the_jwks_over_https_needs_its_ca(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, "issuer")
    issuer = Issuer().start(tls=(str(tls.cert), str(tls.key)))
    try:
        assert issuer.url.startswith("https://")
        trusted = Jwks(issuer.url, ca_file=str(tls.ca))
        assert trusted.key("test-key-1").key_id == "test-key-1"
        with pytest.raises(JwksUnavailable) as refused:
            Jwks(issuer.url).key("test-key-1")  # the system CAs do not know the test CA
        assert "SSLError" in refused.value.hint
    finally:
        issuer.stop()
