"""``gate audit`` output: a table for people, one JSON document for machines.

The table lists every violation (one row per policy and container), the workloads that
could not be judged, and, apart, the workloads running under break-glass; compliant
workloads are counted. The JSON document (``schema: gate.audit/v1``) holds every
workload with its images (spec, reference judged, digest and where it came from, pods)
and findings; break-glass workloads are in ``break_glass``, not in ``workloads``.

    >>> from datetime import UTC, datetime
    >>> from gate.audit.record import AuditRun
    >>> from gate.errors import GateError
    >>> doc = json.loads(render_json(AuditRun(datetime(2026, 1, 1, tzinfo=UTC),
    ...     errors=[GateError("cluster unreachable", hint="check the kubeconfig")])))
    >>> doc["errors"][0]["message"], doc["exit_code"]
    ('cluster unreachable', 2)
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from gate.audit.judge import Verdict
from gate.audit.logs import verdict_fields
from gate.audit.record import AuditRun
from gate.report.interface import Renderer, Renderers, TextRenderer
from gate.webhook.logsize import clip

SCHEMA = "gate.audit/v1"
TEXT_CHARS = 160


def render_json(run: AuditRun) -> str:
    return json.dumps(
        {
            "schema": SCHEMA,
            "started_at": run.started_at.isoformat(),
            "duration_seconds": round(run.seconds, 3),
            "exit_code": run.exit_code,
            "summary": run.summary(),
            "workloads": [verdict_fields(v) for v in run.verdicts if not v.break_glass],
            "break_glass": [verdict_fields(v) for v in run.verdicts if v.break_glass],
            "errors": [e.to_dict() for e in run.errors],
        },
        indent=2,
    )


def print_table(run: AuditRun, console: Console) -> None:
    s = run.summary()
    console.print(
        f"gate audit: {s['workloads']} workloads ({s['pods']} pods) in {s['namespaces']} "
        f"namespaces, {s['images']} images ({s['digests']} digests) judged in "
        f"{run.seconds:.1f} s: {s['violating']} violating, {s['errored']} not judged, "
        f"{s['compliant']} compliant; {s['break_glass']} under break-glass. Exempt "
        f"namespaces: {', '.join(run.exempt) or 'none'}."
    )
    denied = sum(v.admission == "deny" for v in run.verdicts)
    console.print(f"Admission would deny {denied} of them today (enforce-mode findings).")
    violations = _table("Violations", "workload", "container", "policy", "mode", "why")
    for verdict in run.verdicts:
        if verdict.break_glass:
            continue
        for f in verdict.findings:
            if f.violation:
                violations.add_row(
                    _name(verdict),
                    f.container,
                    f.policy_id,
                    f.mode,
                    clip(f"{f.finding.title}: {f.finding.message}", TEXT_CHARS),
                )
    if violations.row_count:
        console.print(violations)
    errors = _table("Not judged", "workload", "container", "error", "why")
    for verdict in run.verdicts:
        for e in verdict.errors:
            errors.add_row(
                _name(verdict),
                e.container,
                e.kind,
                clip(e.message + (f" (hint: {e.hint})" if e.hint else ""), TEXT_CHARS),
            )
    if errors.row_count:
        console.print(errors)
    broken = _table("Break-glass (admitted without enforcement)", "workload", "status", "why")
    for verdict in run.verdicts:
        if verdict.break_glass:
            broken.add_row(_name(verdict), verdict.status, ", ".join(verdict.policies) or "-")
    if broken.row_count:
        console.print(broken)
    for error in run.errors:
        hint = f" (hint: {error.hint})" if error.hint else ""
        console.print(f"[red]error:[/red] {error.message}{hint}", markup=True)


class AuditJson(TextRenderer[AuditRun]):
    def render(self, result: AuditRun) -> str:
        return render_json(result)


class AuditTable(Renderer[AuditRun]):
    def write(self, result: AuditRun, console: Console) -> None:
        print_table(result, console)


AUDIT_OUTPUTS: Renderers[AuditRun] = {"table": AuditTable(), "json": AuditJson()}


def _table(title: str, *columns: str) -> Table:
    """The last column takes what is left and wraps; the others keep their text whole."""
    table = Table(title=title, title_justify="left")
    for column in columns[:-1]:
        table.add_column(column, no_wrap=column != "workload", overflow="fold")
    table.add_column(columns[-1], ratio=1, overflow="fold")
    return table


def _name(verdict: Verdict) -> str:
    ref = verdict.workload.ref
    return f"{ref.namespace}/{ref.kind}/{ref.name}"
