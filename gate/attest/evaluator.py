"""The attest evaluator: resolve, gather facts, evaluate; return what was judged.

:func:`fetched_evaluator` adapts :func:`gate.evaluate.evaluate_image` and a fact source
(the registry and Artifact Analysis) to the ``Evaluator`` that :mod:`gate.attest.service`
takes: ``image -> Evaluation``. The evaluation's resolved reference is the one the fact
source resolved and the policies judged, so the digest signed is the digest judged.

    >>> from gate.config import Settings
    >>> from gate.facts.local import LocalFacts
    >>> from gate.policy.engines import create_engine
    >>> evaluate = fetched_evaluator(create_engine(Settings()), LocalFacts(), fetch_timeout=5)
    >>> evaluation = evaluate("gcr.io/p/app@sha256:" + "a" * 64)
    >>> evaluation.digest[:10], isinstance(evaluation.decision.allowed, bool)
    ('sha256:aaa', True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from gate.attest.service import Evaluator
from gate.errors import GateError
from gate.evaluate import Evaluation, evaluate_image
from gate.facts.interface import FactSource
from gate.policy.interface import Decision, Engine
from gate.reference import ImageRef, parse_reference

Resolver = Callable[[ImageRef, float], str]  # (reference, monotonic deadline) -> digest


def fetched_evaluator(
    engine: Engine,
    source: FactSource,
    *,
    fetch_timeout: float,
    resolver: Resolver | None = None,
    now: datetime | None = None,
) -> Evaluator:
    """The attest evaluator over gate's own fact gathering (``entry_point`` ``attest``).

    A tag is resolved first with ``resolver`` (the registry client, which refuses hosts
    that are not approved), so the policies judge ``name:tag@digest`` and the digest signed
    is the one they judged; the source's own resolution is kept when there is no resolver.
    """

    def evaluate(image: str) -> Evaluation:
        deadline = time.monotonic() + fetch_timeout
        text = image
        try:
            ref = parse_reference(image)
            if ref.digest is None and resolver is not None:
                text = ref.with_digest(resolver(ref, deadline)).normalized
        except GateError as exc:
            return Evaluation(None, None, Decision.from_error(exc, "attest", engine=engine.name))
        return evaluate_image(
            engine, text, source, entry_point="attest", now=now, deadline=deadline
        )

    return evaluate
