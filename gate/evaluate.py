"""Evaluate one image: parse the reference, decide on the reference alone, then on the facts.

Reference-level policies (digest, registries, tags, exemptions) run first, on the reference
alone: when they deny, no fact is gathered and no host is contacted. When the facts are at
hand already (the webhook's cache) for the very reference written, the full decision, which
runs the reference policies too, comes first, and the reference decision only when it
denies: an allowed image costs one decision, and a denied one gets the answer it would get
with a cold cache. Facts otherwise come from a
:class:`~gate.facts.interface.FactSource`: local files for testing
(:class:`~gate.facts.local.LocalFacts`), or the registry and the scanner (gathered by gate
itself on the admission and signing paths). Facts that could
not be had (``ImageFacts.errors``) do not stop the evaluation: every policy judges what
is there, and the errors join the decision, which they deny.

The result is an :class:`Evaluation`: the reference judged (its digest resolved once
facts were gathered), the facts and the decision, so callers need not wrap the fact
source to learn which digest was judged.

    >>> from gate.config import Settings
    >>> from gate.facts.local import LocalFacts
    >>> from gate.policy.engines import create_engine
    >>> evaluation = evaluate_image(create_engine(Settings()), "nginx:latest", LocalFacts())
    >>> evaluation.decision.allowed, evaluation.reference.tag, evaluation.digest
    (False, 'latest', '')
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts
from gate.policy.document import build_document
from gate.policy.interface import Decision, Engine, Scope
from gate.reference import ImageRef, parse_reference


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate_image` judged, and what it decided.

    ``reference`` is the image as parsed (``None`` when it does not parse), with its digest
    resolved once the fact source ran; ``facts`` are what the policies judged (``None``
    when they decided on the reference alone, or the facts could not be gathered).
    """

    reference: ImageRef | None
    facts: ImageFacts | None
    decision: Decision

    @property
    def resolved(self) -> ImageRef | None:
        """The reference the facts are about (digest resolved), or None when none were
        gathered: the reference the decision is about for signing and for logs."""
        return self.reference if self.facts is not None else None

    @property
    def digest(self) -> str:
        """The digest judged with the facts; "" when none was resolved."""
        resolved = self.resolved
        return (resolved.digest or "") if resolved is not None else ""


def evaluate_image(
    engine: Engine,
    reference: str,
    source: FactSource,
    *,
    entry_point: str = "eval",
    workload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    deadline: float | None = None,
    decide_by: float | None = None,
) -> Evaluation:
    """The evaluation of one image; every failure is a denying decision, never an exception.

    ``deadline`` bounds gathering the facts (a scan wait has its own limit); ``decide_by``
    (the webhook's review deadline) stops an evaluation of the policies still running then.
    Both are ``time.monotonic()`` times; None: no limit.
    """
    try:
        ref = parse_reference(reference)
    except GateError as exc:
        return Evaluation(None, None, Decision.from_error(exc, entry_point, engine=engine.name))
    judged = None
    if not source.local:
        at_hand = source.at_hand(ref)
        if at_hand is not None and at_hand[0] == ref:  # the reference as written, judged in full
            judged = _judge(
                engine,
                *at_hand,
                entry_point=entry_point,
                workload=workload,
                now=now,
                decide_by=decide_by,
            )
            if judged.decision.allowed:
                return judged
        first = reference_decision(
            engine, ref, entry_point=entry_point, workload=workload, now=now, decide_by=decide_by
        )
        if not first.allowed:
            return Evaluation(ref, None, first)
    if judged is not None:
        return judged
    try:
        ref, facts = source.gather(ref, deadline if deadline is not None else time.monotonic() + 60)
    except GateError as exc:
        return Evaluation(ref, None, Decision.from_error(exc, entry_point, engine=engine.name))
    return _judge(
        engine, ref, facts, entry_point=entry_point, workload=workload, now=now, decide_by=decide_by
    )


def _judge(
    engine: Engine,
    ref: ImageRef,
    facts: ImageFacts,
    *,
    entry_point: str,
    workload: Mapping[str, Any] | None,
    now: datetime | None,
    decide_by: float | None = None,
) -> Evaluation:
    """The full decision on ``ref`` (digest resolved) and the facts gathered for it."""
    facts = _checked_scan_subject(ref, facts)
    document = build_document(
        ref.to_input(),
        entry_point=entry_point,
        image_facts=engine.image_facts(facts),
        workload=workload,
        now=now,
    )
    decision = engine.evaluate(document, Scope.FULL, deadline=decide_by)
    return Evaluation(ref, facts, decision.with_errors(*facts.errors) if facts.errors else decision)


def reference_decision(
    engine: Engine,
    ref: ImageRef,
    *,
    entry_point: str,
    workload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    decide_by: float | None = None,
) -> Decision:
    """The reference-scoped policies alone, on ``ref`` as written: nothing is fetched."""
    document = build_document(ref.to_input(), entry_point=entry_point, workload=workload, now=now)
    return engine.evaluate(document, Scope.REFERENCE, deadline=decide_by)


def _checked_scan_subject(ref: ImageRef, facts: ImageFacts) -> ImageFacts:
    """A report about another image must never stand in for this one's scan: it is
    dropped (the image is judged as unscanned) and the mismatch kept as an error."""
    if facts.vulnerabilities is None or ref.digest is None:
        return facts
    try:
        facts.vulnerabilities.ensure_about(ref.digest)
    except GateError as exc:
        return replace(facts, vulnerabilities=None, errors=(*facts.errors, exc))
    return facts
