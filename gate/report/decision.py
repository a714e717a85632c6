"""Render a decision for a person (a rich table) or a program (JSON).

>>> from gate.policy.interface import Decision
>>> print(render_json([("nginx", Decision(allowed=True))]).splitlines()[1])
  "allowed": true,
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from gate.policy.interface import Decision, Finding

Result = tuple[str, Decision]


def render_json(results: Sequence[Result]) -> str:
    """One decision document per image: {"allowed", "results": [{"image", ...decision}]}."""
    document = {
        "allowed": all(decision.allowed for _, decision in results),
        "results": [{"image": image, **decision.to_dict()} for image, decision in results],
    }
    return json.dumps(document, indent=2)


def print_table(results: Sequence[Result], console: Console) -> None:
    for image, decision in results:
        verdict = "[green]ALLOWED[/]" if decision.allowed else "[red]DENIED[/]"
        console.print(f"{verdict} {image}  [dim](engine: {decision.engine})[/]")
        if decision.errors:
            for error in decision.errors:
                console.print(f"  [red]error[/] ({error.kind}): {error.message}")
                if error.hint:
                    console.print(f"    [dim]hint: {error.hint}[/]")
        for title, findings in (
            ("Violations", decision.violations),
            ("Warnings", decision.warnings),
            ("Exempted", decision.exempted),
        ):
            if findings:
                console.print(_findings_table(title, findings))


def _findings_table(title: str, findings: Sequence[Finding]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True, expand=False)
    for column in ("policy", "severity", "where", "message", "how to fix"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        where = " ".join(
            part
            for part in (
                finding.platform and f"platform {finding.platform}",
                finding.container and f"container {finding.container}",
            )
            if part
        )
        fix = f"exempt: {finding.reason}" if finding.reason else finding.remediation
        table.add_row(
            f"{finding.policy_id}\n{finding.policy}",
            finding.severity,
            where or "-",
            finding.message,
            fix,
        )
    return table
