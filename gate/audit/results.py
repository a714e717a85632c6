"""The results of one workload's report: one per policy and container.

``fail`` (a violation in ``enforce`` or ``audit`` mode), ``warn`` (a ``warn``-mode
violation, or a policy warning), ``error`` (what could not be judged), ``skip`` (an
exempted violation, or an image policy gate did not evaluate because a reference policy
denied first) and ``pass`` (a policy that ran on the image and found nothing). Each
carries the container, image, digest and mode in ``properties``; messages are cut to
``MESSAGE_CHARS``.

    >>> severity("CRITICAL"), severity("unknown")
    ('critical', 'info')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.audit.judge import Judged, Verdict
from gate.policy.loader import PolicyInfo
from gate.webhook.logsize import clip

MESSAGE_CHARS = 1000
SEVERITIES = ("critical", "high", "medium", "low", "info")


def workload_results(verdict: Verdict, catalog: Mapping[str, PolicyInfo]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for finding in verdict.findings:
        results.append(
            {
                "policy": finding.policy_id,
                "rule": finding.finding.policy,
                "category": _category(catalog, finding.policy_id),
                "severity": severity(finding.finding.severity),
                "result": finding.result,
                "message": clip(finding.text, MESSAGE_CHARS),
                "properties": {
                    "container": finding.container,
                    "image": finding.image,
                    "digest": finding.digest,
                    "mode": finding.mode,
                    **({"break-glass": "true"} if verdict.break_glass else {}),
                },
            }
        )
    for error in verdict.errors:
        results.append(
            {
                "policy": f"error:{error.kind}",
                "result": "error",
                "message": clip(
                    error.message + (f" (hint: {error.hint})" if error.hint else ""), MESSAGE_CHARS
                ),
                "properties": {"container": error.container, "image": error.image},
            }
        )
    for judged in verdict.judged:
        results += _unviolated(judged, catalog)
    return results


def _unviolated(judged: Judged, catalog: Mapping[str, PolicyInfo]) -> list[dict[str, Any]]:
    """``pass`` for each policy that ran on this image and found nothing; ``skip`` for an
    exempted violation and for the image policies that never ran (a reference policy
    denied first); nothing when the image could not be judged at all (only errors)."""
    decision, image = judged.evaluated, judged.image
    if decision.errors and not (decision.violations or decision.warnings or decision.exempted):
        return []
    found = {f.policy_id for f in (*judged.decision.violations, *judged.decision.warnings)}
    exempted = {f.policy_id: f for f in decision.exempted}
    early = any(_scope(catalog, v.policy_id) == "reference" for v in decision.violations)
    where = {
        "container": image.container.name,
        "image": image.reference,
        "digest": judged.digest,
    }
    results = []
    for policy_id, info in sorted(catalog.items()):
        if info.scope not in ("reference", "image") or policy_id in found:
            continue
        result: dict[str, Any] = {
            "policy": policy_id,
            "rule": info.name,
            "category": info.scope,
            "severity": severity(info.severity),
            "properties": dict(where),
        }
        if policy_id in exempted:
            reason = exempted[policy_id].reason
            result |= {"result": "skip", "message": clip(f"exempted: {reason}", MESSAGE_CHARS)}
        elif early and info.scope == "image":
            result |= {
                "result": "skip",
                "message": "not evaluated: a reference policy denied the image, so gate did not "
                "fetch it",
            }
        else:
            result |= {"result": "pass", "message": info.title}
        results.append(result)
    return results


def severity(severity: str) -> str:
    return severity.lower() if severity.lower() in SEVERITIES else "info"


def _scope(catalog: Mapping[str, PolicyInfo], policy_id: str) -> str:
    info = catalog.get(policy_id)
    return info.scope if info else ""


def _category(catalog: Mapping[str, PolicyInfo], policy_id: str) -> str:
    return _scope(catalog, policy_id) or "admission"
