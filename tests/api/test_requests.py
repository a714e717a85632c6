"""Request handling, in process: schema validation with clear 400s, media type, body size,
routing errors as JSON on /v1 only, the per-caller and per-worker limits (429 with
Retry-After), the time limit (504), the API-only mode, and every answer against the
checked-in OpenAPI document."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from gate.api.schema import document
from gate.facts.interface import FactSource, ImageFacts
from gate.reference import ImageRef
from tests.api.conftest import ATTESTOR, IMAGE, ApiFactory, bearer
from tests.api.issuer import Issuer
from tests.webhook.reviews import COMPLIANT, review, workload


def conforms(name: str, body: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


class BlockingFacts(FactSource):
    """``inner``'s facts; on the API's pool they first wait for ``release`` (a registry
    that is slow today for the pipelines' images)."""

    def __init__(self, inner: FactSource) -> None:
        self.inner = inner
        self.release, self.entered = threading.Event(), threading.Semaphore(0)

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        if threading.current_thread().name.startswith("gate-api"):
            self.entered.release()
            self.release.wait(30)
        return self.inner.gather(ref, deadline)


@pytest.fixture
def blocking(any_digest_facts: FactSource) -> Iterator[BlockingFacts]:
    facts = BlockingFacts(any_digest_facts)
    yield facts
    facts.release.set()


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({}, "/", "'image' is a required property"),
        ({"image": 5}, "/image", "is not of type 'string'"),
        ({"image": ""}, "/image", "should be non-empty"),
        ({"image": IMAGE, "extra": 1}, "/", "Additional properties"),
        ([IMAGE], "/", "is not of type 'object'"),
    ],
)
def test_bodies_that_break_the_schema_are_400(
    client: Any, issuer: Issuer, body: Any, path: str, words: str
) -> None:
    reply = client.post("/v1/evaluate", json=body, headers=bearer(issuer.token()))
    assert reply.status_code == 400, reply.json
    conforms("Error", reply.json)
    [problem] = reply.json["problems"]
    assert problem["path"] == path and words in problem["message"]
    assert "image" in reply.json["hint"] and "/openapi.json" in reply.json["hint"]


def test_attest_and_verify_requests_are_checked_too(client: Any, issuer: Issuer) -> None:
    auth = bearer(issuer.token())
    reply = client.post("/v1/attest", json={"image": IMAGE, "attestor": "gate"}, headers=auth)
    assert reply.status_code == 400 and reply.json["problems"][0]["path"] == "/attestor"
    body = {"image": IMAGE, "attestor": ATTESTOR, "mode": "sign-anyway", "dry_run": "yes"}
    reply = client.post("/v1/attest", json=body, headers=auth)
    assert [p["path"] for p in reply.json["problems"]] == ["/dry_run", "/mode"]
    reply = client.post("/v1/verify", json={"image": IMAGE}, headers=auth)
    assert "'attestor' is a required property" in reply.json["problems"][0]["message"]


def test_not_json_is_400_or_415(client: Any, issuer: Issuer) -> None:
    auth = bearer(issuer.token())
    for data in ("{", "[" * 100_000, "\xff"):
        reply = client.post(
            "/v1/evaluate", data=data, headers=auth, content_type="application/json"
        )
        assert reply.status_code in (400, 413) and reply.is_json, data[:5]
    reply = client.post("/v1/evaluate", data={"image": IMAGE}, headers=auth)
    assert reply.status_code == 415 and "application/json" in reply.json["hint"]


def test_a_body_over_the_limit_is_413(make_api: ApiFactory, issuer: Issuer) -> None:
    client: Any = make_api(max_body=1024).test_client()
    body = {"image": IMAGE + "x" * 2000}
    reply = client.post("/v1/evaluate", json=body, headers=bearer(issuer.token()))
    assert reply.status_code == 413 and "GATE_API_MAX_BODY" in reply.json["hint"]


def test_routing_errors_are_json_with_the_api_hints_on_v1(client: Any, issuer: Issuer) -> None:
    reply = client.get("/v1/evaluate", headers=bearer(issuer.token()))
    assert reply.status_code == 405 and "POST" in reply.headers["Allow"]
    conforms("Error", reply.json)
    assert "/v1 operations take POST" in reply.json["hint"]
    assert client.post("/v1/nothing", json={}).status_code == 404
    admission = client.get("/validate")  # the webhook's answers are JSON too, its own hints
    assert (
        admission.status_code == 405 and "/validate and /mutate take POST" in admission.json["hint"]
    )


def test_the_api_is_off_without_an_audience(make_api: ApiFactory, issuer: Issuer) -> None:
    client: Any = make_api(audience="").test_client()
    reply = client.post("/v1/evaluate", json={"image": IMAGE}, headers=bearer(issuer.token()))
    assert reply.status_code == 404 and "GATE_API_AUDIENCE" in reply.json["hint"]


def test_api_only_turns_admission_off(make_api: ApiFactory, issuer: Issuer) -> None:
    client: Any = make_api(only=True).test_client()
    assert client.post("/validate", json=review(workload("Pod", COMPLIANT))).status_code == 404
    assert client.get("/readyz").status_code == 200
    reply = client.post("/v1/evaluate", json={"image": IMAGE}, headers=bearer(issuer.token()))
    assert reply.status_code == 200


def test_limits_per_caller_and_per_worker_leave_admission_free(
    make_api: ApiFactory, issuer: Issuer, blocking: BlockingFacts
) -> None:
    app = make_api(facts=blocking, caller_concurrency=1, max_in_flight=2)
    client: Any = app.test_client()
    first, second, third = (f"ci{n}@trusted.iam.gserviceaccount.com" for n in range(3))
    replies: list[Any] = []

    def call(email: str) -> None:
        headers = bearer(issuer.token(email=email))
        replies.append(client.post("/v1/evaluate", json={"image": IMAGE}, headers=headers))

    threads = [threading.Thread(target=call, args=(who,)) for who in (first, second)]
    for thread in threads:
        thread.start()
        assert blocking.entered.acquire(timeout=10)
    again = client.post(
        "/v1/evaluate", json={"image": IMAGE}, headers=bearer(issuer.token(email=first))
    )
    assert again.status_code == 429 and again.headers["Retry-After"] == "5"
    assert "limit per caller is 1" in again.json["error"]
    full = client.post(
        "/v1/evaluate", json={"image": IMAGE}, headers=bearer(issuer.token(email=third))
    )
    assert full.status_code == 429 and "busy" in full.json["error"]
    started = time.monotonic()
    admitted = client.post("/validate", json=review(workload("Pod", COMPLIANT)))
    assert admitted.json["response"]["allowed"] is True  # admission: its own pool, at once
    assert time.monotonic() - started < 2
    blocking.release.set()
    for thread in threads:
        thread.join(10)
    assert [r.status_code for r in replies] == [200, 200]
    assert 'gate_api_refused_total{status="429"} 2.0' in client.get("/metrics").text


def test_a_slow_request_is_504_and_keeps_its_slot_until_done(
    make_api: ApiFactory, issuer: Issuer, blocking: BlockingFacts
) -> None:
    app = make_api(facts=blocking, timeout=1, caller_concurrency=1)
    client: Any = app.test_client()
    token = issuer.token()
    reply = client.post("/v1/evaluate", json={"image": IMAGE}, headers=bearer(token))
    assert reply.status_code == 504 and "background" in reply.json["hint"]
    assert (
        client.post("/v1/evaluate", json={"image": IMAGE}, headers=bearer(token)).status_code == 429
    )
    blocking.release.set()
    limiter = app.extensions["gate.api"].limiter
    limiter.pool.submit(lambda: None).result(5)
    for _ in range(50):
        if limiter.in_flight() == 0:
            break
        threading.Event().wait(0.05)
    assert limiter.in_flight() == 0


def test_documents_conform_to_the_openapi_document(client: Any, issuer: Issuer) -> None:
    auth = bearer(issuer.token())
    for image in (IMAGE, "nginx:latest", "not a reference!"):
        reply = client.post("/v1/evaluate", json={"image": image}, headers=auth)
        assert reply.status_code == 200
        conforms("EvaluateResponse", reply.json)
    denied = client.post("/v1/evaluate", json={"image": "nginx:latest"}, headers=auth).json
    assert denied["allowed"] is False and denied["results"][0]["violations"]
    broken = client.post("/v1/evaluate", json={"image": "not a reference!"}, headers=auth).json
    assert broken["results"][0]["errors"][0]["kind"] == "reference"
