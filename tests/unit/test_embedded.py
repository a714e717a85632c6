"""The embedded engine: decisions, fail-closed errors, threads, reloads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from gate.policy.embedded import EmbeddedEngine
from gate.policy.interface import Scope
from gate.policy.source import PolicySource

MAIN = """package gate.main

decision := {"allowed": count(v) == 0, "violations": v, "warnings": [], "exempted": []} if {
\tv := [x | some x in data.gate.policies.example.violation]
}

reference_decision := decision
"""

POLICY = """# METADATA
# title: Example
# custom:
#   id: GATE-X-001
#   severity: high
#   remediation: Fix it.
#   scope: reference
package gate.policies.example

violation contains {"msg": sprintf("bad %v", [input.n]), "id": "GATE-X-001"} if input.n > 1

violation contains {"msg": "number"} if to_number(input.s) > 0
"""


def engine_for(tmp_path: Path, main: str = MAIN, policy: str = POLICY) -> EmbeddedEngine:
    (tmp_path / "main.rego").write_text(main)
    (tmp_path / "example.rego").write_text(policy)
    return EmbeddedEngine(PolicySource(tmp_path, interval=0))


def test_allow_and_deny(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    assert engine.evaluate({"n": 1, "s": "0"}).allowed
    denied = engine.evaluate({"n": 2, "s": "0", "entry_point": "eval"})
    assert not denied.allowed
    assert [v.message for v in denied.violations] == ["bad 2"]
    assert denied.entry_point == "eval" and denied.engine == "embedded"


def test_a_result_keeps_the_findings_it_lists(tmp_path: Path) -> None:
    listing = POLICY.replace(
        'violation contains {"msg": "number"}',
        'violation contains {"msg": "many", "findings": input.found} if count(input.found) > 0\n\n'
        'violation contains {"msg": "number"}',
    )
    found = [{"id": "CVE-1", "fixable": True}, {"id": "CVE-2", "fixable": False}]
    decision = engine_for(tmp_path, policy=listing).evaluate({"n": 1, "s": "0", "found": found})
    [violation] = decision.violations
    assert violation.findings == tuple(found)
    document = json.loads(json.dumps(decision.to_dict()))
    assert document["violations"][0]["findings"] == found  # JSON: every finding
    assert len({violation, violation}) == 1  # hashable, as lint's sets need


def test_builtin_error_is_strict_and_denies(tmp_path: Path) -> None:
    decision = engine_for(tmp_path).evaluate({"n": 1, "s": "not a number"})
    assert not decision.allowed
    assert decision.errors[0].kind == "engine"
    assert "could not parse string as number" in decision.errors[0].message
    assert "Stack backtrace" not in decision.errors[0].message


def test_a_document_json_cannot_hold_is_an_engine_error_and_denies(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    for value in (float("nan"), float("inf"), object()):
        decision = engine.evaluate({"n": value, "s": "0"})
        assert not decision.allowed
        assert decision.errors[0].kind == "engine"


def test_undefined_decision_denies(tmp_path: Path) -> None:
    decision = engine_for(tmp_path, main="package gate.main\n\ndecision := 1 if false\n").evaluate(
        {}
    )
    assert not decision.allowed
    assert "no decision" in decision.errors[0].message


def test_malformed_decision_denies(tmp_path: Path) -> None:
    main = 'package gate.main\n\ndecision := {"allowed": "yes"}\n'
    assert not engine_for(tmp_path, main=main).evaluate({}).allowed


def test_reference_scope(tmp_path: Path) -> None:
    assert not engine_for(tmp_path).evaluate({"n": 5, "s": "0"}, Scope.REFERENCE).allowed


def test_threads_share_nothing(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    failures: list[str] = []

    def worker(n: int) -> None:
        try:
            check(n)
        except Exception as exc:  # a thread's exception must fail the test
            failures.append(f"thread {n}: {exc!r}")

    def check(n: int) -> None:
        for _ in range(50):
            decision = engine.evaluate({"n": n, "s": "0"})
            if decision.allowed != (n <= 1) or (
                not decision.allowed and decision.violations[0].message != f"bad {n}"
            ):
                failures.append(f"thread {n}: {decision}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_reload_on_change_and_broken_change_keeps_last_good(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    assert engine.evaluate({"n": 2, "s": "0"}).violations[0].message == "bad 2"
    (tmp_path / "example.rego").write_text(POLICY.replace("bad %v", "worse %v"))
    assert engine.evaluate({"n": 2, "s": "0"}).violations[0].message == "worse 2"
    (tmp_path / "example.rego").write_text(POLICY.replace("input.n > 1", "input.n >"))
    assert engine.evaluate({"n": 2, "s": "0"}).violations[0].message == "worse 2"
