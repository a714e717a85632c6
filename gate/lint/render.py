"""Render lint results: ``file:line`` lines for people and editors, or JSON for programs.

>>> from gate.policy.interface import Decision
>>> print(render_text([LintResult("Dockerfile", Decision(allowed=True))]))
1 file: 0 violations, 0 warnings, 0 errors
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gate.lint.run import LintResult


def render_text(results: Sequence[LintResult]) -> str:
    """One line per finding, ``file:line: ID severity kind: message``, then a summary."""
    lines: list[str] = []
    for result in results:
        for error in result.decision.errors:
            hint = f" (hint: {error.hint})" if error.hint else ""
            lines.append(f"{result.file}: error: {error.message}{hint}")
        violations = set(result.decision.violations)
        for finding in result.findings:
            kind = "violation" if finding in violations else "warning"
            lines.append(
                f"{finding.file or result.file}:{finding.line}: {finding.policy_id} "
                f"{finding.severity} {kind}: {finding.message}"
            )
    lines.append(_summary(results))
    return "\n".join(lines)


def render_json(results: Sequence[LintResult]) -> str:
    """``{"allowed", "results": [{"file", ...decision}]}``, like ``gate eval --output json``."""
    document = {
        "allowed": all(r.decision.allowed for r in results),
        "results": [{"file": r.file, **r.decision.to_dict()} for r in results],
    }
    return json.dumps(document, indent=2)


def _summary(results: Sequence[LintResult]) -> str:
    violations = sum(len(r.decision.violations) for r in results)
    warnings = sum(len(r.decision.warnings) for r in results)
    errors = sum(len(r.decision.errors) for r in results)
    files = f"{len(results)} file" + ("" if len(results) == 1 else "s")
    return f"{files}: {violations} violations, {warnings} warnings, {errors} errors"
