"""The attest evaluator: resolve, gather facts, evaluate; return what was judged.

:func:`fetched_evaluator` adapts :func:`gate.evaluate.evaluate_image` and a fact source
(the registry and Artifact Analysis) to the ``Evaluator`` that :mod:`gate.attest.service`
takes: ``image -> (resolved reference, decision)``. The reference returned is the one the
fact source resolved and the policies judged, so the digest signed is the digest judged.

    >>> from gate.config import Settings
    >>> from gate.evaluate import LocalFacts
    >>> from gate.policy.engines import create_engine
    >>> evaluate = fetched_evaluator(create_engine(Settings()), LocalFacts(), fetch_timeout=5)
    >>> ref, decision = evaluate("gcr.io/p/app@sha256:" + "a" * 64)
    >>> ref.digest[:10], isinstance(decision.allowed, bool)
    ('sha256:aaa', True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from gate.attest.service import Evaluator
from gate.errors import GateError
from gate.evaluate import FactSource, evaluate_image
from gate.facts.metadata import ImageFacts
from gate.policy.interface import Decision, Engine
from gate.reference import ImageRef, parse_reference


class _Capture(FactSource):
    """Gathers through ``inner`` and keeps the resolved reference: what was evaluated."""

    def __init__(self, inner: FactSource) -> None:
        self.inner, self.local = inner, inner.local
        self.ref: ImageRef | None = None

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.ref, facts = self.inner.gather(ref, deadline)
        return self.ref, facts


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

    def evaluate(image: str) -> tuple[ImageRef | None, Decision]:
        deadline = time.monotonic() + fetch_timeout
        text = image
        try:
            ref = parse_reference(image)
            if ref.digest is None and resolver is not None:
                text = ref.with_digest(resolver(ref, deadline)).normalized
        except GateError as exc:
            return None, Decision.from_error(exc, "attest", engine=engine.name)
        capture = _Capture(source)
        decision = evaluate_image(
            engine, text, capture, entry_point="attest", now=now, deadline=deadline
        )
        return capture.ref, decision

    return evaluate
