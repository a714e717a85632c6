"""One Cloud Logging JSON line per workload that violates (or could not be judged).

Logger ``gate.audit`` with the webhook's JSON formatter (:mod:`gate.webhook.logging`):
``severity`` WARNING for a violating workload, ALERT for one running under break-glass
(as admission logs break-glass), ERROR for one that could not be judged. Each line names
the workload, its images with their digests and pods, and every finding with its mode;
it is cut to 64 KB like the admission decision lines (Cloud Logging drops an entry over
256 KB), saying so. A last line per run sums it up (INFO).

    >>> import io, json
    >>> from gate.webhook.logging import configure_logging
    >>> stream = io.StringIO(); _ = configure_logging("INFO", stream=stream)
    >>> log_summary({"workloads": 3, "violating": 1}, 0.25)
    >>> json.loads(stream.getvalue())["violating"]
    1
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gate.audit.judge import Verdict
from gate.webhook.logsize import LINE_BYTES, clip, fit_decision

audit_log = logging.getLogger("gate.audit")


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    """What the JSON output and the log line say about one workload."""
    ref = verdict.workload.ref
    return {
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
        "uid": ref.uid,
        "status": verdict.status,
        "admission": verdict.admission,
        "break_glass": verdict.break_glass,
        "policies": list(verdict.policies),
        "pods": verdict.workload.pods,
        "images": [
            {
                "container": j.image.container.name,
                "container_kind": j.image.container.kind,
                "spec": j.image.container.image,
                "image": j.image.reference,
                "digest": j.digest,
                "digest_from": j.image.source,
                "runtime_digest": j.image.runtime_digest,
                "pods": j.image.pods,
            }
            for j in verdict.judged
        ],
        "findings": [
            {
                "mode": f.mode,
                "code": f.policy_id,
                "policy": f.finding.policy,
                "severity": f.finding.severity,
                "violation": f.violation,
                "container": f.container,
                "image": f.image,
                "digest": f.digest,
                "text": f.text,
            }
            for f in verdict.findings
        ],
        "errors": [
            {"kind": e.kind, "message": e.message, "hint": e.hint, "container": e.container}
            for e in verdict.errors
        ],
    }


def log_verdict(verdict: Verdict) -> None:
    """The workload's line, when it violates or could not be judged; nothing otherwise."""
    if verdict.status == "compliant":
        return
    fields = fit_decision(verdict_fields(verdict))
    level = logging.ERROR if verdict.status == "error" else logging.WARNING
    if verdict.break_glass:
        level = logging.CRITICAL  # ALERT in Cloud Logging
    ref = verdict.workload.ref
    summary = f"audit: {ref.kind} {ref.namespace}/{ref.name} is {verdict.status}"
    if verdict.policies:
        summary += f": {', '.join(verdict.policies)}"
    if verdict.break_glass:
        summary = f"BREAK-GLASS: {summary} (admitted without enforcement)"
    if fields.get("truncated"):
        summary = clip(summary, 512) + f" (log line cut to {LINE_BYTES // 1024} KB)"
    audit_log.log(level, summary, extra={"fields": {"event": "audit.workload", **fields}})


def log_summary(summary: Mapping[str, Any], seconds: float) -> None:
    audit_log.info(
        "audit finished",
        extra={"fields": {"event": "audit.run", **summary, "elapsed_ms": round(seconds * 1e3)}},
    )
