"""What the API handlers share in one worker: built once from the settings.

:func:`build_state` checks the API settings against the attest settings (which attestors
are offered, with which key, to whom) and assembles the token verifier, the access
rules, the limiter, the operations and the metrics. With ``GATE_API_AUDIENCE`` unset
the verifier is None and every ``/v1`` call is a 404.

    >>> from gate.config import Settings
    >>> from gate.facts.local import LocalFacts
    >>> from gate.policy.engines import create_engine
    >>> state = build_state(Settings(), engine=create_engine(Settings()), facts=LocalFacts())
    >>> state.verifier is None, state.keys
    (True, {})
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from gate.api.auth import Access, TokenVerifier
from gate.api.jwks import Jwks
from gate.api.limits import Limiter
from gate.api.operations import Operations
from gate.api.settings import ApiSettings
from gate.config import Settings
from gate.errors import ConfigError
from gate.facts.interface import FactSource
from gate.policy.interface import Engine

log = logging.getLogger("gate.api")
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "gate_api_requests",
            "API calls answered with a document, by operation and outcome",
            ("operation", "outcome"),
            registry=registry,
        )
        self.duration = Histogram(
            "gate_api_duration_seconds",
            "Time to carry out an API call, by operation",
            ("operation",),
            buckets=BUCKETS,
            registry=registry,
        )
        self.refusals = Counter(
            "gate_api_refused", "API calls refused, by HTTP status", ("status",), registry=registry
        )

    def done(self, operation: str, outcome: str, seconds: float) -> None:
        self.calls.labels(operation, outcome).inc()
        self.duration.labels(operation).observe(seconds)

    def refused(self, status: int) -> None:
        self.refusals.labels(str(status)).inc()


@dataclass(frozen=True)
class ApiState:
    settings: ApiSettings
    verifier: TokenVerifier | None
    access: Access
    limiter: Limiter
    operations: Operations
    metrics: ApiMetrics
    keys: dict[str, str]  # attestor -> signing key, as offered


def offered_keys(settings: Settings) -> dict[str, str]:
    """Attestor -> key: ``GATE_API_ATTESTORS``, plus ``GATE_ATTESTOR`` with its key."""
    keys = dict(settings.api.attestors)
    if settings.attest.attestor and settings.attest.key:
        keys.setdefault(settings.attest.attestor, settings.attest.key)
    return keys


def build_state(
    settings: Settings,
    *,
    engine: Engine,
    facts: FactSource,
    registry: CollectorRegistry | None = None,
    jwks: Jwks | None = None,
) -> ApiState:
    api, keys = settings.api, offered_keys(settings)
    unknown = sorted({name for name, _ in api.attestor_callers} - set(keys))
    if unknown:
        raise ConfigError(
            f"GATE_API_ATTESTOR_CALLERS names attestors gate does not offer: {', '.join(unknown)}",
            hint="add each to GATE_API_ATTESTORS as attestor=key (or fix the name)",
        )
    if api.enabled and api.max_in_flight >= settings.webhook.threads:
        raise ConfigError(
            f"GATE_API_MAX_IN_FLIGHT={api.max_in_flight} would take every request thread "
            f"(GATE_THREADS={settings.webhook.threads})",
            hint="keep it below GATE_THREADS so admission reviews always have threads",
        )
    for attestor in keys:
        if api.enabled and not api.callers_of(attestor):
            log.warning("attestor %s is offered but no caller may use it", attestor)
    verifier = None
    if api.enabled:
        jwks = jwks or Jwks(api.jwks_url, ca_file=api.jwks_ca_file)
        verifier = TokenVerifier(
            jwks, audience=api.audience, issuers=api.issuers, clock_skew=api.clock_skew
        )
    return ApiState(
        settings=api,
        verifier=verifier,
        access=Access(api.callers, {name: api.callers_of(name) for name in keys}),
        limiter=Limiter(per_caller=api.caller_concurrency, total=api.max_in_flight),
        operations=Operations(settings, engine, facts, keys),
        metrics=ApiMetrics(registry or CollectorRegistry()),
        keys=keys,
    )
