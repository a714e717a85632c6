"""``gate lint`` output: ``file:line`` lines, JSON and SARIF (:mod:`gate.lint.sarif`).

>>> from gate.lint.decision import LintDecision
>>> from gate.lint.run import LintResult
>>> run = LintRun([LintResult("Dockerfile", LintDecision(allowed=True))], {})
>>> print(LINT_OUTPUTS["text"].render(run))
1 file: 0 violations, 0 warnings, 0 errors
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gate.lint.run import LintResult
from gate.lint.sarif import to_sarif
from gate.policy.loader import PolicyInfo
from gate.report.interface import Renderers, TextRenderer


@dataclass(frozen=True)
class LintRun:
    """The results of one ``gate lint``, and the catalog of the policies that ran."""

    results: Sequence[LintResult]
    catalog: Mapping[str, PolicyInfo]


class LintText(TextRenderer[LintRun]):
    """One line per finding, ``file:line: ID severity kind: message``, then a summary."""

    def render(self, result: LintRun) -> str:
        lines: list[str] = []
        for linted in result.results:
            for error in linted.decision.errors:
                hint = f" (hint: {error.hint})" if error.hint else ""
                lines.append(f"{linted.file}: error: {error.message}{hint}")
            violations = set(linted.decision.violations)
            for finding in linted.findings:
                kind = "violation" if finding in violations else "warning"
                lines.append(
                    f"{finding.file or linted.file}:{finding.line}: {finding.policy_id} "
                    f"{finding.severity} {kind}: {finding.message}"
                )
        lines.append(_summary(result.results))
        return "\n".join(lines)


class LintJson(TextRenderer[LintRun]):
    """``{"allowed", "results": [{"file", ...decision}]}``, like ``gate eval --output json``."""

    def render(self, result: LintRun) -> str:
        document = {
            "allowed": all(r.decision.allowed for r in result.results),
            "results": [{"file": r.file, **r.decision.to_dict()} for r in result.results],
        }
        return json.dumps(document, indent=2)


class LintSarif(TextRenderer[LintRun]):
    """SARIF 2.1.0, the rules from the catalog."""

    def render(self, result: LintRun) -> str:
        return json.dumps(to_sarif(result.results, result.catalog), indent=2)


LINT_OUTPUTS: Renderers[LintRun] = {"text": LintText(), "json": LintJson(), "sarif": LintSarif()}


def _summary(results: Sequence[LintResult]) -> str:
    violations = sum(len(r.decision.violations) for r in results)
    warnings = sum(len(r.decision.warnings) for r in results)
    errors = sum(len(r.decision.errors) for r in results)
    files = f"{len(results)} file" + ("" if len(results) == 1 else "s")
    return f"{files}: {violations} violations, {warnings} warnings, {errors} errors"
