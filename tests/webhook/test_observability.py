"""Probes, metrics, JSON logs, and the decision cache as the metrics show it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

from gate.policy.interface import Engine, EngineError, Scope
from gate.webhook.facts import TrialFacts
from gate.webhook.logging import JsonFormatter, configure_logging, gunicorn_log_config
from tests.webhook.conftest import AppFactory, CountingFacts, answer
from tests.webhook.reviews import COMPLIANT, review, workload


class DownEngine(Engine):
    name = "opa"

    def query(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Any:
        raise EngineError("OPA unreachable at http://127.0.0.1:1", hint="is opa running?")

    def fetchable(self) -> tuple[str, ...]:
        raise EngineError("OPA unreachable at http://127.0.0.1:1", hint="is opa running?")


def test_probes(make_app: AppFactory) -> None:
    client = make_app().test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_readiness_fails_while_the_engine_cannot_decide(compliant_facts: TrialFacts) -> None:
    from gate.config import Settings
    from gate.webhook.app import create_app

    app = create_app(Settings(), engine=DownEngine(), facts=compliant_facts)
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    detail = reply.get_json()["detail"]
    assert "OPA unreachable" in detail and "is opa running?" in detail
    response = answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is False and "OPA unreachable" in response["status"]["message"]


def test_decisions_are_cached_by_image_and_workload(
    make_app: AppFactory, compliant_facts: TrialFacts
) -> None:
    facts = CountingFacts(compliant_facts)
    client = make_app(facts=facts, facts_cache_ttl=0).test_client()
    for _ in range(3):
        assert answer(client, review(workload("Pod", COMPLIANT)))["response"]["allowed"]
    assert len(facts.asked) == 1  # two decision hits: no gather, no evaluation
    answer(client, review(workload("Pod", COMPLIANT, name="other")))  # another workload
    assert len(facts.asked) == 2
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gate_cache_lookups_total{cache="decisions",result="hit"} 2.0' in metrics
    assert 'gate_cache_lookups_total{cache="decisions",result="miss"} 2.0' in metrics
    off = CountingFacts(compliant_facts)
    uncached = make_app(facts=off, facts_cache_ttl=0, decision_cache_ttl=0).test_client()
    for _ in range(2):
        answer(uncached, review(workload("Pod", COMPLIANT)))
    assert len(off.asked) == 2


def test_metrics_cover_reviews_violations_latency_and_invalid_bodies(make_app: AppFactory) -> None:
    client = make_app(policy_modes=(("GATE-REF-004", "warn"),)).test_client()
    answer(client, review(workload("CronJob", "nginx:latest")))
    client.post("/validate", data=b"not json")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'gate_admission_reviews_total{dry_run="false",kind="CronJob",mode="enforce",result="denied"} 1.0'
        in text
    )
    assert 'gate_policy_violations_total{mode="enforce",policy="GATE-REF-001"} 1.0' in text
    assert 'gate_policy_violations_total{mode="warn",policy="GATE-REF-004"} 1.0' in text
    assert 'gate_admission_duration_seconds_bucket{kind="CronJob",le="10.0"} 1.0' in text
    assert "gate_invalid_requests_total 1.0" in text


def test_json_lines_for_cloud_logging() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("gate.decision").critical("BREAK-GLASS", extra={"fields": {"uid": "u"}})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("gate.webhook").exception("failed")
    finally:
        logging.getLogger("gate").handlers.clear()
        logging.getLogger("gate").propagate = True
    first, second = (
        json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")
    )
    assert first["severity"] == "ALERT" and first["uid"] == "u" and first["time"].endswith("+00:00")
    assert second["severity"] == "ERROR" and "ValueError: boom" in second["stack_trace"]


def test_gunicorn_logs_are_json_too() -> None:
    config = gunicorn_log_config("info")
    assert config["formatters"]["json"]["()"] is JsonFormatter
    assert config["loggers"]["gunicorn.error"]["level"] == "INFO"


def test_a_log_line_stays_one_line_for_every_reader() -> None:
    """JSON leaves U+0085, U+2028 and U+2029 as they are, and Python's splitlines (or a
    JavaScript reader) ends a line at each: a quoted image could cut a decision line."""
    record = logging.LogRecord("gate.decision", logging.WARNING, "", 0, "deny", None, None)
    record.fields = {"image": "gcr.io/p/a\u2028b\x85c\u2029:1", "uid": "u\n1"}
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1 and "\\u2028" in line and "\\u0085" in line
    assert json.loads(line)["image"] == "gcr.io/p/a\u2028b\x85c\u2029:1"
