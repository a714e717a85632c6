"""Render image decisions for a person (a rich table) or a program (JSON): ``gate eval``'s
outputs (:data:`EVAL_OUTPUTS`), and the JSON the signing API answers with.

>>> from gate.policy.interface import Decision
>>> print(EVAL_OUTPUTS["json"].render([("nginx", Decision(allowed=True))]).splitlines()[1])
  "allowed": true,
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from gate.errors import GateError
from gate.policy.interface import Decision, Finding
from gate.report.interface import Renderer, Renderers, TextRenderer

Result = tuple[str, Decision]  # (the image as given, its decision)


def render_json(results: Sequence[Result], errors: Sequence[GateError] | None = None) -> str:
    """One decision document per image: {"allowed", "results": [{"image", ...decision}]}.

    With ``errors`` (the CLI passes them, ``[]`` when there are none) the document also
    has ``errors``: what stopped gate before any image was judged. Any error denies.
    """
    document: dict[str, Any] = {
        "allowed": not errors and all(decision.allowed for _, decision in results),
        "results": [{"image": image, **decision.to_dict()} for image, decision in results],
    }
    if errors is not None:
        document["errors"] = error_records(errors)
    return json.dumps(document, indent=2)


def error_records(errors: Sequence[GateError]) -> list[dict[str, str]]:
    """The JSON form of errors, as in a decision's ``errors``: kind, message, hint."""
    return [error.to_dict() for error in errors]


def print_report(results: Sequence[Result], console: Console) -> None:
    """Each image's verdict, then its errors, violations, warnings and exemptions."""
    for image, decision in results:
        verdict = "[bold green]ALLOWED[/]" if decision.allowed else "[bold red]DENIED[/]"
        console.print(f"{verdict} {escape(image)}  [dim](engine: {decision.engine or '-'})[/]")
        for error in decision.errors:
            console.print(f"  [red]error[/] ({error.kind}): {escape(error.message)}")
            if error.hint:
                console.print(f"    [dim]hint: {escape(error.hint)}[/]")
        for mark, findings in (
            ("[red]✗[/]", decision.violations),
            ("[yellow]![/]", decision.warnings),
            ("[dim]-[/]", decision.exempted),
        ):
            for finding in findings:
                _print_finding(console, mark, finding)
        counts = f"{len(decision.violations)} violation(s), {len(decision.warnings)} warning(s)"
        console.print(f"  [dim]{counts}, {len(decision.exempted)} exempted[/]\n")


def _print_finding(console: Console, mark: str, finding: Finding) -> None:
    where = ", ".join(
        part
        for part in (
            finding.platform and f"platform {finding.platform}",
            finding.container and f"container {finding.container}",
        )
        if part
    )
    console.print(
        f"  {mark} [bold]{finding.policy_id}[/] {finding.policy} [dim]({finding.severity})[/]"
        + (f" [dim]{escape(where)}[/]" if where else "")
    )
    console.print(f"    {escape(finding.message)}")
    if finding.reason:
        console.print(f"    [dim]exempt: {escape(finding.reason)}[/]")
    elif finding.remediation:
        console.print(f"    [dim]fix: {escape(finding.remediation)}[/]")


class EvalJson(TextRenderer[Sequence[Result]]):
    """``gate eval --output json``: the decisions, with an empty ``errors``."""

    def render(self, result: Sequence[Result]) -> str:
        return render_json(result, errors=[])


class EvalTable(Renderer[Sequence[Result]]):
    def write(self, result: Sequence[Result], console: Console) -> None:
        print_report(result, console)


EVAL_OUTPUTS: Renderers[Sequence[Result]] = {"table": EvalTable(), "json": EvalJson()}
