"""Prometheus metrics, and the ``/metrics`` blueprint.

Each app has its own :class:`Metrics` (its own registry, so tests can build many apps).
Under ``gate serve`` every gunicorn worker writes to ``GATE_METRICS_DIR`` (prometheus
multiprocess mode, set up by :mod:`gate.webhook.serve`) and ``/metrics`` sums the workers.

    >>> m = Metrics()
    >>> m.review(result="denied", mode="enforce", kind="Pod", dry_run=False, seconds=0.004)
    >>> m.cache("facts", hit=True)
    >>> b"gate_admission_reviews_total" in m.render(multiprocess_dir="")[0]
    True
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

blueprint = Blueprint("metrics", __name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reviews = Counter(
            "gate_admission_reviews",
            "AdmissionReviews answered, by result, mode and kind",
            ("result", "mode", "kind", "dry_run"),
            registry=r,
        )
        self.violations = Counter(
            "gate_policy_violations",
            "Violations found at admission, by policy and mode",
            ("policy", "mode"),
            registry=r,
        )
        self.latency = Histogram(
            "gate_admission_duration_seconds",
            "Time to answer an AdmissionReview, by kind",
            ("kind",),
            buckets=BUCKETS,
            registry=r,
        )
        self.caches = Counter(
            "gate_cache_lookups",
            "Cache lookups by cache (facts, decisions) and result",
            ("cache", "result"),
            registry=r,
        )
        self.upstream = Counter(
            "gate_upstream_errors",
            "Errors while gathering facts or deciding, by kind",
            ("kind",),
            registry=r,
        )
        self.invalid = Counter("gate_invalid_requests", "Bodies answered with HTTP 400", registry=r)

    def review(self, *, result: str, mode: str, kind: str, dry_run: bool, seconds: float) -> None:
        self.reviews.labels(result, mode, kind, str(dry_run).lower()).inc()
        self.latency.labels(kind).observe(seconds)

    def violation(self, policy: str, mode: str) -> None:
        self.violations.labels(policy, mode).inc()

    def cache(self, name: str, hit: bool) -> None:
        self.caches.labels(name, "hit" if hit else "miss").inc()

    def upstream_error(self, kind: str) -> None:
        self.upstream.labels(kind).inc()

    def render(self, multiprocess_dir: str) -> tuple[bytes, str]:
        """The exposition text: this process's metrics, or every worker's when multiprocess."""
        if not multiprocess_dir:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST


@blueprint.get("/metrics")
def metrics() -> Response:
    state = current_app.extensions["gate"]
    body, content_type = state.metrics.render(state.settings.webhook.metrics_dir)
    return Response(body, content_type=content_type)
