"""A Kubernetes Event on a workload whose audit status changed.

The status is the verdict's (``compliant``, ``violating``, ``error``) and, when
violating, the set of policies broken: a workload that newly breaks another policy gets
an Event too. The last status comes from the workload's report (or, without reports,
from the previous run in this process); a workload seen for the first time gets an Event
unless it complies. ``kubectl describe`` shows them with the workload's other Events:

    Warning  PolicyViolation  gate-audit  now violates GATE-IMG-002 (was compliant): …
    Normal   PolicyCompliant  gate-audit  complies with every policy again (was violating …)

    >>> from gate.audit.store import Previous
    >>> changed(Previous("compliant", ()), Previous("violating", ("GATE-IMG-002",)))
    True
    >>> changed(None, Previous("compliant", ()))
    False
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from gate.audit.judge import Verdict
from gate.audit.kube import KubeApi, KubeError, Resource
from gate.audit.store import Previous
from gate.policy.document import format_time
from gate.webhook.logsize import clip

EVENT = Resource("", "v1", "events", "Event")
COMPONENT = "gate-audit"
REASONS = {
    "violating": ("PolicyViolation", "Warning"),
    "error": ("AuditError", "Warning"),
    "compliant": ("PolicyCompliant", "Normal"),
}
MESSAGE_CHARS = 1000  # the API server keeps an Event's message to 1 KB


def status_of(verdict: Verdict) -> Previous:
    return Previous(verdict.status, verdict.policies)


def changed(old: Previous | None, new: Previous) -> bool:
    if old is None or not old.status:
        return new.status != "compliant"
    return old != new


def emit_changes(
    api: KubeApi,
    verdicts: Sequence[Verdict],
    previous: Mapping[str, Previous],
    *,
    concurrency: int,
    when: datetime | None = None,
) -> tuple[int, list[KubeError]]:
    """Events for the verdicts whose status changed: (how many were created, the errors)."""
    when = when or datetime.now(UTC)
    due = [
        (v, previous.get(v.workload.ref.uid))
        for v in verdicts
        if changed(previous.get(v.workload.ref.uid), status_of(v))
    ]
    errors: list[KubeError] = []

    def send(item: tuple[Verdict, Previous | None]) -> None:
        verdict, old = item
        body = event(verdict, old, when)
        try:
            api.request("POST", EVENT.path(verdict.workload.ref.namespace), body=body)
        except KubeError as exc:
            errors.append(exc)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="gate-event") as pool:
        list(pool.map(send, due))
    return len(due) - len(errors), errors


def event(verdict: Verdict, old: Previous | None, when: datetime) -> dict[str, Any]:
    """The core/v1 Event for one change."""
    ref = verdict.workload.ref
    reason, kind = REASONS[verdict.status]
    stamp = format_time(when)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{ref.name[:200]}.{secrets.token_hex(8)}",
            "namespace": ref.namespace,
            "labels": {"app.kubernetes.io/managed-by": "gate"},
        },
        "involvedObject": ref.to_object_reference(),
        "reason": reason,
        "type": kind,
        "message": clip(message(verdict, old), MESSAGE_CHARS - 40),
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": socket.gethostname()[:128],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def message(verdict: Verdict, old: Previous | None) -> str:
    was = _was(old)
    if verdict.status == "compliant":
        return f"complies with every policy again ({was})"
    if verdict.status == "error":
        first = verdict.errors[0]
        return f"could not be judged ({was}): {first.message}"
    lines = [f"now violates {', '.join(verdict.policies)} ({was})"]
    for finding in [f for f in verdict.findings if f.violation][:5]:
        lines.append(
            f"[{finding.policy_id}, {finding.mode}] container {finding.container}: "
            f"{finding.finding.message}"
        )
    if verdict.break_glass:
        lines.insert(1, "break-glass: admitted without enforcement")
    return "; ".join(lines)


def _was(old: Previous | None) -> str:
    if old is None or not old.status:
        return "first audit"
    if old.status == "violating":
        return f"was violating {', '.join(old.policies)}"
    return f"was {old.status}"
