"""The Flask app factory: the one place the webhook is wired together.

``create_app(settings)`` builds the engine and the fact source from the settings;
tests and embedders inject their own (``engine=``, ``facts=``, ``attestations=``).
Handlers read only ``app.extensions["gate"]`` (a :class:`~gate.webhook.state.WebhookState`),
never the environment or module globals. The blueprints never import this module: it
imports and registers them.

    >>> from gate.config import Settings
    >>> app = create_app(Settings())
    >>> app.test_client().get("/healthz").json
    {'status': 'ok'}
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from gate.api.routes import install as install_api
from gate.config import Settings
from gate.facts.interface import FactSource
from gate.policy.engines import create_engine
from gate.policy.interface import Engine
from gate.webhook import admission, errors, health, metrics, mutate
from gate.webhook.attestation import AttestationRequirement
from gate.webhook.cache import CachedFacts, TTLCache, facts_cache
from gate.webhook.decisions import DECISIONS_MAX_BYTES, Kept, Key, decision_weight
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.facts import default_fact_source
from gate.webhook.modes import ModeTable
from gate.webhook.pinning import Resolver, shared_registry
from gate.webhook.state import WebhookState


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    facts: FactSource | None = None,
    attestations: AttestationRequirement | None = None,
    registry: Resolver | None = None,
) -> Flask:
    """The webhook app; missing parts are built from ``settings``.

    ``registry`` is the one registry client that fetched facts and ``/mutate`` share.
    """
    webhook = settings.webhook
    engine = engine or create_engine(settings)
    if facts is None:
        facts = default_fact_source(settings, engine)
    facts, registry = shared_registry(facts, registry)
    if attestations is None and webhook.required_attestors:
        from gate.webhook.attestors import build_requirement

        attestations = build_requirement(settings)
    meter = metrics.Metrics()
    kept = facts_cache(webhook.facts_cache_size, webhook.facts_cache_ttl, webhook.facts_cache_bytes)
    decisions: TTLCache[Key, Kept] = TTLCache(
        webhook.decision_cache_size,
        webhook.decision_cache_ttl,
        weigh=decision_weight,
        max_weight=DECISIONS_MAX_BYTES,
    )
    pool = ThreadPoolExecutor(webhook.pool_threads, thread_name_prefix="gate-eval")
    evaluator = ImageEvaluator(
        engine,
        CachedFacts(facts, kept, meter.cache),
        pool,
        budget=webhook.budget,
        attestations=attestations,
        decisions=decisions,
        on_error=meter.upstream_error,
        record=meter.cache,
    )
    state = WebhookState(
        settings=settings,
        evaluator=evaluator,
        modes=ModeTable.from_settings(webhook),
        exempt=frozenset(webhook.exempt()),
        metrics=meter,
        readiness=health.Readiness(engine, pool),
    )
    app = Flask("gate.webhook")
    app.config["MAX_CONTENT_LENGTH"] = webhook.max_body
    app.extensions["gate"] = state
    app.extensions[mutate.EXTENSION] = mutate.Mutation.build(
        settings, engine, registry, pool, meter.registry
    )
    for blueprint in (admission.blueprint, mutate.blueprint, health.blueprint, metrics.blueprint):
        app.register_blueprint(blueprint)
    install_api(app, settings, engine=engine, facts=facts)  # the /v1 signing API
    errors.install(app)  # JSON errors on every path
    return app
