"""Run the policies' own Rego unit tests (``test_*`` rules in ``*_test.rego``) on the
embedded engine, the way ``opa test`` does, and report them as text or JUnit XML
(:data:`TEST_OUTPUTS`).

    >>> from gate.policy.loader import default_policy_dir, load_policy_set
    >>> results = run_rego_tests(load_policy_set(default_policy_dir()))
    >>> all(r.passed for r in results)
    True
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

from gate.errors import GateError
from gate.policy.embedded import build_regorus, first_value, rego_error_text
from gate.policy.loader import PolicySet
from gate.report.interface import Renderers, TextRenderer

_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTestResult:
    package: str
    name: str
    file: str
    passed: bool
    seconds: float
    error: str = ""


def run_rego_tests(policy_set: PolicySet, name_filter: str = "") -> list[RegoTestResult]:
    engine = build_regorus(policy_set, include_tests=True)
    results = []
    for module in policy_set.modules:
        if not module.is_test:
            continue
        for name in dict.fromkeys(_TEST_RULE.findall(module.source)):
            if name_filter and not re.search(name_filter, f"{module.package}.{name}"):
                continue
            results.append(_run_one(engine, module.package, name, module.path))
    return results


def _run_one(engine: object, package: str, name: str, path: str) -> RegoTestResult:
    started = time.perf_counter()
    try:
        value = first_value(engine.eval_query_as_json(f"data.{package}.{name}"))  # type: ignore[attr-defined]
        error = "" if value is True else f"result was {'undefined' if value is None else value}"
    except (RuntimeError, GateError) as exc:
        error = rego_error_text(exc)
    return RegoTestResult(package, name, path, not error, time.perf_counter() - started, error)


class RegoJunit(TextRenderer[Sequence[RegoTestResult]]):
    """JUnit XML, one testcase per Rego test."""

    def render(self, result: Sequence[RegoTestResult]) -> str:
        return _junit(result)


class RegoText(TextRenderer[Sequence[RegoTestResult]]):
    """A PASS/FAIL line per test, then the counts."""

    def render(self, result: Sequence[RegoTestResult]) -> str:
        return _text(result)


TEST_OUTPUTS: Renderers[Sequence[RegoTestResult]] = {"text": RegoText(), "junit": RegoJunit()}


def _junit(results: Sequence[RegoTestResult]) -> str:
    failures = sum(1 for r in results if not r.passed)
    suite = ElementTree.Element(
        "testsuite",
        name="gate-rego",
        tests=str(len(results)),
        failures=str(failures),
        time=f"{sum(r.seconds for r in results):.6f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=result.package,
            name=result.name,
            file=result.file,
            time=f"{result.seconds:.6f}",
        )
        if not result.passed:
            ElementTree.SubElement(case, "failure", message=result.error).text = result.error
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def _text(results: Sequence[RegoTestResult]) -> str:
    lines = [
        f"{'PASS' if r.passed else 'FAIL'}: {r.package}.{r.name} ({r.file}) {r.seconds * 1000:.1f}ms"
        + ("" if r.passed else f"\n  {r.error}")
        for r in results
    ]
    passed = sum(1 for r in results if r.passed)
    lines.append("-" * 60)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)
