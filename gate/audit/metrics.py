"""Prometheus gauges of the last audit run (``/metrics`` of ``gate audit --every``).

- ``gate_audit_violating_workloads{namespace, policy}``: workloads that violate the policy
  (any mode; break-glass ones included), as of the last run; a pair that no longer
  violates is gone from the next scrape
- ``gate_audit_workloads{status}``: workloads by status (compliant, violating, error) and
  ``break_glass``
- ``gate_audit_images_audited``: distinct image references judged; ``gate_audit_pods``
- ``gate_audit_last_run_timestamp_seconds``, ``gate_audit_last_run_duration_seconds``,
  ``gate_audit_last_success_timestamp_seconds`` (alert when it falls behind)
- ``gate_audit_runs_total{result}`` (``ok``, ``failed``: the cluster could not be listed)
  and ``gate_audit_errors{kind}`` (images or writes that failed in the last run)

    >>> m = AuditMetrics()
    >>> m.failed(started=10.0, seconds=0.5)
    >>> b"gate_audit_runs_total" in m.render()
    True
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter

from gate.audit.judge import Verdict

STATUSES = ("compliant", "violating", "error")


class AuditMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.violating = Gauge(
            "gate_audit_violating_workloads",
            "Workloads violating a policy at the last audit, by namespace and policy",
            ("namespace", "policy"),
            registry=r,
        )
        self.workloads = Gauge(
            "gate_audit_workloads",
            "Workloads at the last audit, by status",
            ("status",),
            registry=r,
        )
        self.images = Gauge(
            "gate_audit_images_audited", "Distinct image references judged at the last audit",
            registry=r,
        )  # fmt: skip
        self.pods = Gauge("gate_audit_pods", "Live pods seen at the last audit", registry=r)
        self.last_run = Gauge(
            "gate_audit_last_run_timestamp_seconds", "When the last audit started", registry=r
        )
        self.last_success = Gauge(
            "gate_audit_last_success_timestamp_seconds",
            "When the last audit that read the cluster started",
            registry=r,
        )
        self.duration = Gauge(
            "gate_audit_last_run_duration_seconds", "How long the last audit took", registry=r
        )
        self.runs = PromCounter(
            "gate_audit_runs", "Audit runs by result (ok, failed)", ("result",), registry=r
        )
        self.errors = Gauge(
            "gate_audit_errors",
            "Errors in the last audit by kind (images not judged, reports or events not written)",
            ("kind",),
            registry=r,
        )
        self._lock = threading.Lock()

    def completed(
        self,
        verdicts: Sequence[Verdict],
        *,
        images: int,
        pods: int,
        errors: Mapping[str, int],
        started: float,
        seconds: float,
    ) -> None:
        """Set every gauge from one run (``started`` is wall-clock time)."""
        pairs = Counter(
            (v.workload.ref.namespace, policy) for v in verdicts for policy in v.policies
        )
        statuses = Counter(v.status for v in verdicts)
        with self._lock:
            self.violating.clear()
            for (namespace, policy), count in pairs.items():
                self.violating.labels(namespace, policy).set(count)
            for status in STATUSES:
                self.workloads.labels(status).set(statuses.get(status, 0))
            self.workloads.labels("break_glass").set(sum(v.break_glass for v in verdicts))
            self.errors.clear()
            for kind, count in errors.items():
                self.errors.labels(kind).set(count)
            self.images.set(images)
            self.pods.set(pods)
            self.last_success.set(started)
            self._ran("ok", started, seconds)

    def failed(self, *, started: float, seconds: float) -> None:
        """A run that could not read the cluster: the last good gauges stay."""
        with self._lock:
            self._ran("failed", started, seconds)

    def _ran(self, result: str, started: float, seconds: float) -> None:
        self.runs.labels(result).inc()
        self.last_run.set(started)
        self.duration.set(seconds)

    def render(self) -> bytes:
        with self._lock:
            return generate_latest(self.registry)
