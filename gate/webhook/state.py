"""What the webhook's handlers read: ``current_app.extensions["gate"]``.

:func:`gate.webhook.app.create_app` builds one :class:`WebhookState` and registers the
blueprints (``/validate``, ``/mutate``, health, metrics); the blueprints import this
module, never the app factory, so the wiring runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.config import Settings
from gate.webhook import health, metrics
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.modes import ModeTable


@dataclass(frozen=True)
class WebhookState:
    settings: Settings
    evaluator: ImageEvaluator
    modes: ModeTable
    exempt: frozenset[str]
    metrics: metrics.Metrics
    readiness: health.Readiness
