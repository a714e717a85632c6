"""Judging running workloads as admission would, with the real engine and policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gate.config import Settings
from gate.errors import InputError
from gate.webhook.settings import WebhookSettings
from tests.audit.conftest import BAD, BAD_ID, COMPLIANT, bare_pod

BREAK_GLASS = {"alpha.image-policy.k8s.io/break-glass": "true"}


def test_a_compliant_workload_and_a_violating_one(judge_all: Any) -> None:
    good, bad = judge_all([bare_pod("good", COMPLIANT, ids=[COMPLIANT]), bare_pod("bad", BAD)])
    assert (good.status, good.admission, good.findings) == ("compliant", "allow", ())
    assert bad.status == "violating" and bad.admission == "deny"
    assert {"GATE-REF-001", "GATE-REF-002"} <= set(bad.policies)
    assert {f.mode for f in bad.findings} == {"enforce"}


def test_a_tag_only_spec_is_judged_by_the_running_digest_and_still_breaks_the_digest_policy(
    judge_all: Any,
) -> None:
    (verdict,) = judge_all([bare_pod("tagged", BAD, ids=[BAD_ID])])
    (judged,) = verdict.judged
    assert judged.image.reference == f"{BAD}@{BAD_ID.split('@')[1]}"
    # the reference judged has a digest, so only the spec as written breaks GATE-REF-001
    assert "GATE-REF-001" not in {v.policy_id for v in judged.evaluated.violations}
    assert "GATE-REF-001" in verdict.policies


def test_modes_per_namespace_and_policy_apply_as_at_admission(judge_all: Any) -> None:
    settings = Settings(
        webhook=WebhookSettings(
            namespace_modes=(("relaxed", "warn"),), policy_modes=(("GATE-REF-002", "audit"),)
        )
    )
    strict, relaxed = judge_all(
        [bare_pod("a", BAD), bare_pod("b", BAD, namespace="relaxed")], settings
    )
    modes = {f.policy_id: f.mode for f in strict.findings}
    assert modes["GATE-REF-001"] == "enforce" and modes["GATE-REF-002"] == "audit"
    assert {f.mode for f in relaxed.findings} == {"warn"} and relaxed.admission == "allow"
    assert {f.result for f in relaxed.findings} == {"warn"}
    assert relaxed.status == "violating"  # a warn-mode violation is still a violation


def test_break_glass_turns_every_finding_into_audit_and_is_flagged(judge_all: Any) -> None:
    (verdict,) = judge_all([bare_pod("urgent", BAD, annotations=BREAK_GLASS)])
    assert verdict.break_glass and verdict.admission == "allow"
    assert verdict.status == "violating" and {f.mode for f in verdict.findings} == {"audit"}
    off = Settings(webhook=WebhookSettings(break_glass=False))
    (ignored,) = judge_all([bare_pod("urgent", BAD, annotations=BREAK_GLASS)], off)
    assert not ignored.break_glass and {f.mode for f in ignored.findings} == {"enforce"}


def test_an_image_whose_facts_cannot_be_had_is_an_error_not_a_pass(judge_all: Any) -> None:
    other = "us-docker.pkg.dev/gate-samples/apps/other@sha256:" + "d" * 64
    (verdict,) = judge_all([bare_pod("other", other, ids=[other])])
    # the trial scan report is about the sample's digest: it never stands in for another
    assert verdict.status in ("error", "violating")
    assert any(e.kind == "scan" for e in verdict.errors), verdict.errors
    assert verdict.admission == "deny"


def test_a_workload_gate_cannot_read_is_an_error(judge_all: Any) -> None:
    unreadable = replace(bare_pod("broken", COMPLIANT), images=(), problem=InputError("no image"))
    (verdict,) = judge_all([unreadable])
    assert verdict.status == "error" and verdict.errors[0].kind == "invalid"
    assert verdict.admission == "deny"
