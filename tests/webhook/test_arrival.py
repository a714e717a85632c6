"""A review's time budget counts from its arrival, its wait for a thread included.

Before, the clock started when a pool thread took the request: under a flood of heavy
reviews a normal one waited 16 s in the pool's queue (past the API server's 10 s), was
then evaluated in full, and was logged as answered in 114 ms (a red-team run). Now the
bridge notes when the headers were complete; a review that has waited past its budget is
denied for time at once (or fails open), and its log line says how long it took.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient

from gate.webhook.asgi import ARRIVED, Message, arrival, post_scope
from gate.webhook.bridge import WsgiBridge
from tests.webhook.conftest import AppFactory
from tests.webhook.reviews import COMPLIANT, review, workload

BUDGET = 8.0


def post(client: FlaskClient, path: str, waited: float) -> dict[str, Any]:
    environ = {ARRIVED: time.monotonic() - waited}
    body = review(workload("Pod", COMPLIANT))
    reply = client.post(path, json=body, environ_base=environ)
    assert reply.status_code == 200, reply.data
    answer: dict[str, Any] = reply.get_json()["response"]
    return answer


def test_a_review_that_waited_past_its_budget_is_denied_for_time(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(budget=BUDGET, decision_cache_ttl=0).test_client()  # a cached
    assert post(client, "/validate", waited=0.0)["allowed"]  # decision is answered at once
    with caplog.at_level(logging.INFO, logger="gate.decision"):
        caplog.clear()
        started = time.monotonic()
        late = post(client, "/validate", waited=BUDGET + 1)
        took = time.monotonic() - started
    assert not late["allowed"]
    assert "ran out of its 8 s time budget" in late["status"]["message"]
    assert took < BUDGET  # denied, not evaluated in full and then too late
    (line,) = [r.fields for r in caplog.records if r.name == "gate.decision"]  # type: ignore[attr-defined]
    assert line["elapsed_ms"] >= (BUDGET + 1) * 1000, line


def test_a_waited_review_fails_open_when_so_configured(make_app: AppFactory) -> None:
    client = make_app(budget=BUDGET, fail_open=True, decision_cache_ttl=0).test_client()
    assert post(client, "/validate", waited=BUDGET + 1)["allowed"]


def test_the_bridge_notes_the_arrival_before_the_body() -> None:
    """The clock starts at the end of the headers: a body that takes a while counts."""
    seen: dict[str, float] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["arrived"], seen["called"] = arrival(environ), time.monotonic()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    scope = post_scope("/validate", [(b"content-length", b"2")])

    async def run() -> None:
        async def receive() -> Message:
            await asyncio.sleep(0.3)  # the body arrives late
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Message) -> None:
            return None

        bridge = WsgiBridge(app, ThreadPoolExecutor(1), max_body=1024, body_timeout=5.0)
        await bridge(scope, receive, send)

    asyncio.run(run())
    assert seen["called"] - seen["arrived"] >= 0.3
