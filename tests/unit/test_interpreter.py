"""The embedded engine's two regorus bindings: gate_regorus (gate's, the default when
installed) evaluates without the GIL; both decide the same and fail the same way."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gate.config import Settings
from gate.errors import ConfigError
from gate.facts.metadata import load_metadata
from gate.facts.scans import load_scan_report
from gate.policy import embedded
from gate.policy.document import build_document
from gate.policy.embedded import EmbeddedEngine
from gate.policy.engines import create_engine
from gate.policy.interface import EngineError, Scope
from gate.policy.interpreter import TimeLimitError, new_interpreter
from gate.policy.loader import default_policy_dir
from gate.policy.source import PolicySource
from gate.reference import parse_reference
from tests.conftest import require_module

require_module("gate_regorus")

BINDINGS = ("gate_regorus", "regorus")
SLOW = (
    "package slow\n\ncount_sevens := count([x | some x in numbers.range(1, input.n); x % 7 == 0])\n"
)


def test_gate_regorus_is_the_default_binding() -> None:
    assert create_engine(Settings()).binding == "gate_regorus"  # type: ignore[attr-defined]
    chosen = create_engine(Settings.from_env({"GATE_REGORUS_BINDING": "regorus"}))
    assert chosen.binding == "regorus"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown regorus binding 'pyo3'"):
        Settings.from_env({"GATE_REGORUS_BINDING": "pyo3"})


def _documents(fixtures_dir: Path) -> list[dict[str, Any]]:
    """Every Trivy and Grype fixture's findings on each real image config fixture."""
    ref = parse_reference("us-docker.pkg.dev/acme/apps/web@sha256:" + "4f" * 32).to_input()
    configs = sorted((fixtures_dir / "oci").glob("image-config-*.json"))
    reports = sorted(
        [*(fixtures_dir / "trivy").glob("*.json"), *(fixtures_dir / "grype").glob("*.json")]
    )
    return [
        build_document(
            ref, entry_point="eval", facts=load_metadata(config), scan=load_scan_report(report)
        )
        for config in configs
        for report in reports
    ]


@pytest.mark.parametrize("scope", [Scope.REFERENCE, Scope.FULL])
def test_both_bindings_decide_the_same(scope: Scope, fixtures_dir: Path) -> None:
    source = PolicySource(default_policy_dir())
    native, binding = EmbeddedEngine(source, "gate_regorus"), EmbeddedEngine(source, "regorus")
    documents = _documents(fixtures_dir)
    assert len(documents) >= 9
    for document in documents:
        assert native.query(document, scope) == binding.query(document, scope)


def test_facts_converted_once_decide_as_the_plain_document(fixtures_dir: Path) -> None:
    """The embedded engine keeps a facts object's parts converted (gate_regorus) and
    decides on them as on the document built from the facts each time."""
    ref = parse_reference("us-docker.pkg.dev/acme/apps/web@sha256:" + "4f" * 32)
    engine = EmbeddedEngine(PolicySource(default_policy_dir()), "gate_regorus")
    checked = 0
    for config in sorted((fixtures_dir / "oci").glob("image-config-*.json")):
        for report in sorted((fixtures_dir / "trivy").glob("*.json")):
            facts = replace(load_metadata(config), vulnerabilities=load_scan_report(report))
            parts = engine.image_facts(facts)
            assert engine.image_facts(facts) is parts  # converted once
            prepared = build_document(ref.to_input(), entry_point="eval", image_facts=parts)
            plain = build_document(ref.to_input(), entry_point="eval", facts=facts)
            plain["evaluated_at"] = prepared["evaluated_at"]
            assert engine.query(prepared) == engine.query(plain)
            checked += 1
    assert checked >= 9


def test_threads_decide_alike_on_the_same_converted_facts(fixtures_dir: Path) -> None:
    """Converted parts are shared by every thread's engine (regorus values behind atomic
    reference counts): threads deciding on them at once all decide as one thread does."""
    ref = parse_reference("us-docker.pkg.dev/acme/apps/web@sha256:" + "4f" * 32)
    engine = EmbeddedEngine(PolicySource(default_policy_dir()), "gate_regorus")
    report = sorted((fixtures_dir / "trivy").glob("*.json"))[0]
    config = sorted((fixtures_dir / "oci").glob("image-config-*.json"))[0]
    facts = replace(load_metadata(config), vulnerabilities=load_scan_report(report))
    document = build_document(
        ref.to_input(), entry_point="eval", image_facts=engine.image_facts(facts)
    )
    expected = engine.query(document)
    outcomes: list[bool] = []

    def decide() -> None:
        outcomes.extend(engine.query(document) == expected for _ in range(20))

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == [True] * 80


@pytest.mark.parametrize("name", BINDINGS)
def test_undefined_builtin_errors_and_bad_policies(name: str) -> None:
    interpreter = new_interpreter(name)
    interpreter.add_policy("t.rego", 'package t\n\nr if regex.match(input.p, "x")\n')
    assert interpreter.evaluate("data.t.r", {"p": "y"}) is None  # undefined
    with pytest.raises(RuntimeError, match="regex"):  # strict builtin errors on both
        interpreter.evaluate("data.t.r", {"p": "(unclosed"})
    with pytest.raises((RuntimeError, ValueError)):
        new_interpreter(name).add_policy("bad.rego", "package bad\n\nr := [\n")


def test_a_policy_that_does_not_parse_is_an_engine_error(tmp_path: Path) -> None:
    shutil.copytree(default_policy_dir(), tmp_path / "policies")
    with (tmp_path / "policies" / "main.rego").open("a") as main:
        main.write("\nbroken := [\n")
    with pytest.raises(EngineError, match=r"main\.rego does not compile"):
        EmbeddedEngine(PolicySource(tmp_path / "policies"), "gate_regorus")


def _steps_while_evaluating(binding: str, n: int) -> tuple[int, float]:
    """Python loop steps this thread makes while another evaluates, and the seconds it took."""
    started = threading.Event()
    took: list[float] = []

    def evaluate() -> None:
        interpreter = new_interpreter(binding)  # regorus's engines stay on their thread
        interpreter.add_policy("slow.rego", SLOW)
        started.set()
        begin = time.perf_counter()
        interpreter.evaluate("data.slow.count_sevens", {"n": n})
        took.append(time.perf_counter() - begin)

    worker = threading.Thread(target=evaluate)
    worker.start()
    started.wait()
    steps = 0
    while worker.is_alive():
        steps += 1
    worker.join()
    return steps, took[0]


def _steps_per_second() -> float:
    idle = threading.Thread(target=time.sleep, args=(0.2,))
    idle.start()
    steps, begin = 0, time.perf_counter()
    while idle.is_alive():
        steps += 1
    return steps / (time.perf_counter() - begin)


@pytest.mark.parametrize("name", BINDINGS)
def test_only_gate_regorus_lets_other_threads_run_while_it_evaluates(name: str) -> None:
    # Issue 14: regorus's own binding keeps the GIL while it evaluates, so a worker's
    # threads evaluate a review's images one at a time. Not a timing bound: the share of
    # its own pace this thread keeps during a long evaluation, near 1 when the GIL is
    # free and near 0 when it is held (at most one switch interval, 5 ms of about 500).
    pace = _steps_per_second()
    steps, seconds = _steps_while_evaluating(name, 2_000_000)
    share = steps / (pace * seconds)
    if name == "gate_regorus":
        assert share > 0.25, f"{steps} steps in {seconds:.3f} s at {pace:.0f}/s"
    else:
        assert share < 0.25, f"{steps} steps in {seconds:.3f} s at {pace:.0f}/s"


COPIED = """package copied

params := data.params

over contains x if {
	some x in input.xs
	x > data.params.limit
}
"""


def test_a_gate_regorus_copy_shares_the_policies_and_evaluates_on_its_own() -> None:
    original = new_interpreter("gate_regorus")
    original.add_policy("copied.rego", COPIED)
    original.add_data({"params": {"limit": 2}})
    assert original.evaluate("data.copied.over", {"xs": [1, 3]}) == [3]
    copy = original.copy()
    assert copy is not None
    copy.add_data({"params": {"extra": True}})  # the copy's data is its own
    results: list[Any] = []

    def evaluate() -> None:
        results.extend(copy.evaluate("data.copied.over", {"xs": [x, 5]}) for x in range(5))

    worker = threading.Thread(target=evaluate)
    worker.start()
    mine = [original.evaluate("data.copied.over", {"xs": [x, 5]}) for x in range(5)]
    worker.join()
    assert results == mine == [[5], [5], [5], [3, 5], [4, 5]]
    assert original.evaluate("data.copied.params", {}) == {"limit": 2}
    assert copy.evaluate("data.copied.params", {}) == {"limit": 2, "extra": True}
    assert copy.copy() is not None  # a copy of a copy is as good


def test_regorus_engines_are_not_copied_across_threads() -> None:
    interpreter = new_interpreter("regorus")
    interpreter.add_policy("copied.rego", COPIED)
    assert interpreter.copy() is None


@pytest.mark.parametrize("binding", BINDINGS)
def test_each_thread_evaluates_on_its_own_engines(
    binding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gate_regorus: copies of the set's compiled engines, no compilation per thread;
    # regorus: compiled on each thread. Both decide as the first thread does.
    engine = EmbeddedEngine(PolicySource(default_policy_dir()), binding)
    document = build_document(parse_reference("nginx:latest").to_input(), entry_point="eval")
    first = engine.evaluate(document, Scope.FULL)
    compiled: list[object] = []
    real = embedded.build_interpreter
    monkeypatch.setattr(embedded, "build_interpreter", lambda *a: compiled.append(a) or real(*a))
    decisions = []
    threads = [
        threading.Thread(target=lambda: decisions.append(engine.evaluate(document, Scope.FULL)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert decisions == [first] * 3 and not first.allowed
    assert len(compiled) == (0 if binding == "gate_regorus" else 3 * 2)  # two image scopes


LOOPS = """package loops

found if {
	some x in numbers.range(1, input.n)
	some y in numbers.range(1, input.n)
	x * y == input.product
}
"""


def test_gate_regorus_stops_an_evaluation_at_its_time_limit() -> None:
    interpreter = new_interpreter("gate_regorus")
    interpreter.add_policy("loops.rego", LOOPS)
    never = {"n": 20_000, "product": -1}  # 400 million steps: minutes
    started = time.monotonic()
    with pytest.raises(TimeLimitError, match="exceeded time limit"):
        interpreter.evaluate("data.loops.found", never, seconds=0.2)
    assert time.monotonic() - started < 2.0
    assert interpreter.evaluate("data.loops.found", {"n": 50, "product": 12}, seconds=5.0)
    assert interpreter.evaluate("data.loops.found", {"n": 50, "product": -1}) is None  # no limit
    with pytest.raises(ValueError):
        interpreter.evaluate("data.loops.found", {"n": 5, "product": 4}, seconds=-1.0)
