"""Enforcement modes and their precedence, exemptions, break-glass and dryRun."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from gate.webhook.modes import Mode, ModeTable
from gate.webhook.settings import WebhookSettings
from tests.webhook.conftest import AppFactory, HangingFacts, answer
from tests.webhook.reviews import BREAK_GLASS, COMPLIANT, TAG_ONLY, review, workload


def table(**settings: object) -> ModeTable:
    return ModeTable.from_settings(WebhookSettings(**settings).validated())  # type: ignore[arg-type]


def test_precedence_most_specific_first() -> None:
    modes = table(
        mode="enforce",
        policy_modes=(("GATE-IMG-004", "warn"), ("labels", "audit")),
        namespace_modes=(("dev", "warn"), ("dev/GATE-IMG-004", "audit"), ("prod", "enforce")),
    )
    assert modes.for_policy("dev", "GATE-IMG-004", "freshness") is Mode.AUDIT  # ns + policy
    assert modes.for_policy("dev", "GATE-REF-001", "digest") is Mode.WARN  # namespace
    assert modes.for_policy("prod", "GATE-IMG-004", "freshness") is Mode.ENFORCE  # namespace
    assert modes.for_policy("other", "GATE-IMG-004", "freshness") is Mode.WARN  # policy id
    assert modes.for_policy("other", "GATE-IMG-005", "labels") is Mode.AUDIT  # policy name
    assert modes.for_policy("other", "GATE-REF-001", "digest") is Mode.ENFORCE  # default
    assert modes.for_errors("dev") is Mode.WARN and modes.for_errors("other") is Mode.ENFORCE


def test_warn_mode_admits_with_warnings(make_app: AppFactory) -> None:
    client = make_app(mode="warn").test_client()
    response = answer(client, review(workload("Deployment", TAG_ONLY)))["response"]
    assert response["allowed"] is True and "status" not in response
    warnings = response["warnings"]
    assert any(w.startswith("container app0: [GATE-REF-001]") for w in warnings), warnings
    assert all(len(w) <= 120 and w.isascii() for w in warnings)
    assert response["auditAnnotations"]["mode"] == "warn"
    assert "GATE-REF-001" in response["auditAnnotations"]["warned-by"]


def test_audit_mode_admits_without_warnings_and_logs(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(namespace_modes=(("sandbox", "audit"),)).test_client()
    with caplog.at_level(logging.INFO, logger="gate.decision"):
        response = answer(client, review(workload("Pod", TAG_ONLY), namespace="sandbox"))
    response = response["response"]
    assert response["allowed"] is True and "warnings" not in response
    assert "GATE-REF-001" in response["auditAnnotations"]["audited-by"]
    (line,) = [r for r in caplog.records if r.name == "gate.decision"]
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["mode"] == "audit" and fields["decision"] == "allow"
    assert {f["code"] for f in fields["findings"]} >= {"GATE-REF-001", "GATE-REF-002"}
    # Another namespace is still enforced.
    assert answer(client, review(workload("Pod", TAG_ONLY)))["response"]["allowed"] is False


def test_a_policy_in_warn_mode_warns_while_the_others_deny(make_app: AppFactory) -> None:
    client = make_app(policy_modes=(("GATE-REF-004", "warn"),)).test_client()
    response = answer(client, review(workload("Pod", TAG_ONLY)))["response"]
    assert response["allowed"] is False
    assert "GATE-REF-004" not in response["status"]["message"]
    assert any("[GATE-REF-004]" in w for w in response["warnings"])


def test_errors_take_the_namespace_mode(make_app: AppFactory) -> None:
    client = make_app(
        facts=HangingFacts(), budget=0.2, namespace_modes=(("dev", "warn"),)
    ).test_client()
    dev = answer(client, review(workload("Pod", COMPLIANT), namespace="dev"))["response"]
    assert dev["allowed"] is True and "time budget" in " ".join(dev["warnings"])
    prod = answer(client, review(workload("Pod", COMPLIANT), namespace="prod"))["response"]
    assert prod["allowed"] is False


@pytest.mark.parametrize("namespace", ["kube-system", "gate-system", "team-infra"])
def test_exempt_namespaces_are_admitted_without_evaluation(
    make_app: AppFactory, namespace: str
) -> None:
    facts = HangingFacts()
    client = make_app(facts=facts, exempt_namespaces=("kube-system", "team-infra")).test_client()
    response = answer(client, review(workload("Pod", TAG_ONLY), namespace=namespace))["response"]
    assert response["allowed"] is True
    assert response["auditAnnotations"] == {"decision": "allow", "mode": "exempt"}
    assert facts.calls == 0


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "CronJob"])
def test_break_glass_admits_and_is_logged_loudly(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    client = make_app().test_client()
    obj = workload(kind, TAG_ONLY, annotations={BREAK_GLASS: "true"})
    with caplog.at_level(logging.INFO, logger="gate.decision"):
        response = answer(client, review(obj))["response"]
    assert response["allowed"] is True
    assert response["warnings"][0].startswith("break-glass: admitted without enforcement")
    assert response["auditAnnotations"]["mode"] == "break-glass"
    (line,) = [r for r in caplog.records if r.name == "gate.decision"]
    assert line.levelno == logging.CRITICAL and line.getMessage().startswith("BREAK-GLASS")
    assert any(f["code"] == "GATE-REF-001" for f in line.fields["findings"])  # type: ignore[attr-defined]


def test_break_glass_needs_the_exact_value_and_can_be_turned_off(make_app: AppFactory) -> None:
    client = make_app().test_client()
    maybe = workload("Pod", TAG_ONLY, annotations={BREAK_GLASS: "yes"})
    assert answer(client, review(maybe))["response"]["allowed"] is False
    off = make_app(break_glass=False).test_client()
    glass = workload("Pod", TAG_ONLY, annotations={BREAK_GLASS: "true"})
    assert answer(off, review(glass))["response"]["allowed"] is False


def test_dry_run_is_evaluated_the_same_way_and_marked(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gate.decision"):
        dry = answer(client, review(workload("Pod", TAG_ONLY), dry_run=True))["response"]
        wet = answer(client, review(workload("Pod", TAG_ONLY)))["response"]
        ok = answer(client, review(workload("Pod", COMPLIANT), dry_run=True))["response"]
    assert dry["allowed"] is False and dry["status"] == wet["status"]
    assert ok["allowed"] is True
    lines = [r.fields for r in caplog.records if r.name == "gate.decision"]  # type: ignore[attr-defined]
    assert [line["dry_run"] for line in lines] == [True, False, True]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'dry_run="true",kind="Pod",mode="enforce",result="denied"} 1.0' in metrics


def test_one_decision_line_per_review_with_digests_and_no_object(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    obj = workload("Pod", COMPLIANT, TAG_ONLY)
    obj["spec"]["containers"][0]["env"] = [{"name": "PASSWORD", "value": "hunter2"}]
    body = review(obj)
    with caplog.at_level(logging.DEBUG):
        answer(client, body)
    lines = [r for r in caplog.records if r.name == "gate.decision"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["uid"] == body["request"]["uid"] and fields["decision"] == "deny"
    digests = {i["image"]: i["digest"] for i in fields["images"]}
    assert digests == {COMPLIANT: COMPLIANT.split("@")[1], TAG_ONLY: ""}
    assert all(
        "hunter2" not in r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records
    )
