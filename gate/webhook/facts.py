"""Where the webhook's image facts come from: the seam between admission and fact gathering.

:func:`default_fact_source` picks, from the settings:

- ``GATE_TRIAL_METADATA`` / ``GATE_TRIAL_SCAN`` set: :class:`TrialFacts`, the same local
  files for every image (:class:`~gate.facts.local.LocalFacts`, judged like fetched
  facts: the reference policies first). **For trials and tests only**: nothing is
  fetched, and a scan report about another digest is refused, as in ``gate eval``.
- otherwise the registry and scanner source of :mod:`gate.facts.sources`
  (``build_fact_source(settings, engine)``: it fetches only what the engine's policy set
  lets it) when that module is present;
- failing that, :class:`UnconfiguredFacts`, which raises on every gather: admission fails
  closed ("fact gathering not configured").

``create_app(settings, facts=...)`` takes any other :class:`FactSource`.

    >>> import time
    >>> from gate.config import Settings
    >>> from gate.reference import parse_reference
    >>> UnconfiguredFacts().gather(parse_reference("gcr.io/p/a:1"), time.monotonic() + 1)
    Traceback (most recent call last):
    ...
    gate.webhook.facts.FactsNotConfigured: fact gathering is not configured
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from gate.config import Settings
from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts
from gate.facts.local import LocalFacts
from gate.policy.interface import Engine
from gate.reference import ImageRef

log = logging.getLogger(__name__)


class FactsNotConfigured(GateError):
    kind = "config"


@dataclass(frozen=True)
class TrialFacts(LocalFacts):
    """The same local facts for every image, judged like fetched ones: the reference
    policies first, so a trial answers as production would."""

    local = False


class UnconfiguredFacts(FactSource):
    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        raise FactsNotConfigured(
            "fact gathering is not configured",
            hint="gate needs the registry and scanner source (gate.facts.sources), or "
            "GATE_TRIAL_METADATA and GATE_TRIAL_SCAN for a trial",
        )


def default_fact_source(settings: Settings, engine: Engine) -> FactSource:
    """The fact source ``settings`` describe (see the module docstring)."""
    webhook = settings.webhook
    if webhook.trial_metadata or webhook.trial_scan:
        log.warning(
            "trial facts from %s and %s serve every image: for trials and tests only",
            webhook.trial_metadata or "(no metadata)",
            webhook.trial_scan or "(no scan)",
        )
        return TrialFacts.from_files(webhook.trial_metadata, webhook.trial_scan)
    try:
        sources = importlib.import_module("gate.facts.sources")
    except ModuleNotFoundError as exc:
        if exc.name != "gate.facts.sources":
            raise
        log.error("gate.facts.sources is missing: every admission fails closed")
        return UnconfiguredFacts()
    built: FactSource = sources.build_fact_source(settings, engine)
    return built
