"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Cloud Build reports).

Rules come from the lint catalog (id, title, description, remediation, severity);
each finding is a result at ``file:line``. Violations are ``error``, warnings are
``warning``; ``security-severity`` lets dashboards rank them. Paths are made relative
to ``root`` (the repository checkout) when they are inside it.

    >>> from gate.policy.loader import default_policy_dir, load_policy_set
    >>> log = to_sarif([], load_policy_set(default_policy_dir()).lint_catalog)
    >>> log["version"], log["runs"][0]["tool"]["driver"]["name"]
    ('2.1.0', 'gate')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gate import __version__
from gate.lint.decision import LintFinding
from gate.lint.run import LintResult
from gate.policy.loader import PolicyInfo

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning's scale: 9.0+ critical, 7.0+ high, 4.0+ medium, below low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def to_sarif(
    results: Sequence[LintResult], catalog: Mapping[str, PolicyInfo], root: Path | None = None
) -> dict[str, Any]:
    rules = sorted(catalog.values(), key=lambda info: info.id)
    index = {info.id: i for i, info in enumerate(rules)}
    sarif_results = []
    notifications = []
    for result in results:
        violations = set(result.decision.violations)
        for finding in result.findings:
            level = "error" if finding in violations else "warning"
            sarif_results.append(
                _result(finding, level, index, _uri(finding.file or result.file, root))
            )
        for error in result.decision.errors:
            notifications.append(
                {
                    "level": "error",
                    "message": {
                        "text": f"{error.message}" + (f" ({error.hint})" if error.hint else "")
                    },
                    "locations": [_location(_uri(result.file, root), 0)],
                }
            )
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gate",
                        "version": __version__,
                        "rules": [_rule(info) for info in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": sarif_results,
            }
        ],
    }


def _rule(info: PolicyInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.description or info.title},
        "help": {"text": info.remediation},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(info.severity, "5.5"),
            "tags": ["dockerfile", "security"],
        },
    }


def _result(finding: LintFinding, level: str, index: Mapping[str, int], uri: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.policy_id,
        "level": level,
        "message": {"text": finding.message},
        "locations": [_location(uri, finding.line)],
    }
    if finding.policy_id in index:
        result["ruleIndex"] = index[finding.policy_id]
    return result


def _location(uri: str, line: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _uri(file: str, root: Path | None) -> str:
    """Relative to ``root`` (default: the working folder) when inside it, else a file URI."""
    path = Path(file).resolve()
    try:
        return path.relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return path.as_uri()
