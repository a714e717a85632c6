"""Tag-to-digest pinning: which container images gate resolves, and what each one becomes.

:class:`Pinner` decides once per distinct image of a review, on the evaluation pool (whose
threads hold the compiled engine), within the review's deadline:

- already pinned (``@sha256:…``), unparsable, or outside ``GATE_MUTATE_REPOSITORIES``: left
  alone, silently (the validating webhook judges it as written);
- the reference-level policies, run on the image as it would be pinned, deny it (a registry
  that is not approved, a disallowed tag): left alone with a note and **no connection made**;
- otherwise the app's one registry client resolves the tag. It refuses hosts outside its own
  approved list before opening a socket, and keeps the answer in its tag cache, the cache the
  facts path reads, for its TTL. The image becomes ``name:tag@sha256:…`` (``name@sha256:…``
  with ``GATE_MUTATE_KEEP_TAG=false``), the rest of the text exactly as written.
- a tag that cannot be resolved (unknown, registry down, out of time): left alone with a note;
  the validating webhook then denies it under the digest rule (GATE-REF-001).

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from gate.config import Settings
    >>> from gate.policy.engines import create_engine
    >>> from gate.webhook.workloads import Container
    >>> pool = ThreadPoolExecutor(1)  # regorus engines are per thread: shut it down when done
    >>> pinner = Pinner(create_engine(Settings()), None, pool)
    >>> item = (Container("c", "regular", "evil.example/x:1"), {})
    >>> pin, = pinner.pin([item], time.monotonic() + 5)
    >>> pin.pinned, pin.result, pin.note
    ('', 'denied', 'gate did not pin evil.example/x:1: the reference policies deny it (GATE-REF-002); nothing was contacted')
    >>> pool.shutdown()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from gate.errors import GateError
from gate.facts.interface import FactSource
from gate.facts.registry import Deadline, RegistryClient
from gate.facts.sources import FetchedFacts
from gate.policy.document import build_document
from gate.policy.interface import Engine, Scope
from gate.reference import ImageRef, matches_any, parse_reference
from gate.webhook.workloads import Container

log = logging.getLogger(__name__)
PLACEHOLDER = "sha256:" + "0" * 64  # stands in for the digest when asking the reference policies


class Resolver(Protocol):
    """What pinning needs from the registry client (:class:`~gate.facts.registry.RegistryClient`)."""

    def check_allowed(self, ref: ImageRef) -> None: ...

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str: ...


@dataclass(frozen=True)
class Pin:
    """One container's image: ``pinned`` is its new text ("" when left alone), ``result`` why."""

    container: Container
    pinned: str = ""
    result: str = "pinned"  # pinned | digest | skipped | denied | refused | unresolved
    note: str = ""


def pinned_image(image: str, digest: str, *, keep_tag: bool) -> str:
    """``image`` (a tag or no tag, as written) pinned to ``digest``.

    >>> d = "sha256:" + "0" * 64
    >>> pinned_image("eu.gcr.io/p/app:v1", d, keep_tag=True) == "eu.gcr.io/p/app:v1@" + d
    True
    >>> pinned_image("localhost:5000/app:v1", d, keep_tag=False) == "localhost:5000/app@" + d
    True
    """
    ref = parse_reference(image)
    if not keep_tag and ref.tag is not None:
        image = image[: -len(ref.tag) - 1]
    return f"{image}@{digest}"


class Pinner:
    def __init__(
        self,
        engine: Engine,
        resolver: Resolver | None,
        pool: Executor,
        *,
        repositories: Sequence[str] = (),
        keep_tag: bool = True,
    ) -> None:
        self.engine, self.resolver, self.pool = engine, resolver, pool
        self.repositories, self.keep_tag = tuple(repositories), keep_tag

    def pin(
        self, items: Sequence[tuple[Container, Mapping[str, Any]]], deadline: float
    ) -> list[Pin]:
        """One :class:`Pin` per container (``items`` pair them with workloads) by ``deadline``."""
        first: dict[str, Mapping[str, Any]] = {}
        for container, workload in items:
            first.setdefault(container.image, workload)
        futures = {
            image: self.pool.submit(self._one, image, workload, deadline)
            for image, workload in first.items()
        }
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        decided = {image: self._outcome(image, future) for image, future in futures.items()}
        return [replace(decided[c.image], container=c) for c, _ in items]

    def _outcome(self, image: str, future: Future[Pin]) -> Pin:
        if future.done():
            return future.result()
        future.cancel()
        return _pin("unresolved", f"gate could not resolve {image} within its time budget")

    def _one(self, image: str, workload: Mapping[str, Any], deadline: float) -> Pin:
        try:
            ref = parse_reference(image)
        except GateError:
            return _pin("skipped")
        if ref.digest is not None:
            return _pin("digest")
        if self.repositories and not matches_any(self.repositories, ref.name):
            return _pin("skipped")
        try:
            return self._resolve(image, ref, workload, deadline)
        except GateError as exc:
            return _pin("unresolved", f"gate could not resolve {image}: {exc.message}")
        except Exception:  # a bug leaves the image alone; the validating webhook still decides
            log.exception("pinning %s failed", image)
            return _pin("unresolved", f"gate could not resolve {image} (internal error)")

    def _resolve(
        self, image: str, ref: ImageRef, workload: Mapping[str, Any], deadline: float
    ) -> Pin:
        candidate = replace(ref, digest=PLACEHOLDER, tag=ref.tag if self.keep_tag else None)
        document = build_document(
            candidate.to_input(),
            entry_point="admission",
            workload=dict(workload) or None,
            now=datetime.now(UTC),
        )
        decision = self.engine.evaluate(document, Scope.REFERENCE)
        if not decision.allowed:
            ids = sorted(
                {f.policy_id for f in decision.violations} | {e.kind for e in decision.errors}
            )
            why = f"the reference policies deny it ({', '.join(ids)})"
            return _pin("denied", f"gate did not pin {image}: {why}; nothing was contacted")
        if self.resolver is None:
            return _pin("unresolved", f"gate did not pin {image}: no registry client (trial facts)")
        try:
            self.resolver.check_allowed(ref)  # no I/O: refuses a host the client may not contact
        except GateError as exc:
            return _pin("refused", f"gate did not pin {image}: {exc.message}")
        digest = self.resolver.resolve(ref, Deadline(deadline))
        return Pin(_NOBODY, pinned_image(image, digest, keep_tag=self.keep_tag))


def shared_registry(
    facts: FactSource, registry: Resolver | None
) -> tuple[FactSource, Resolver | None]:
    """The fact source and the one registry client that it and pinning share.

    Fetched facts bring their client (or take ``registry`` in its place); other sources
    (trial facts, injected ones) leave pinning with ``registry``, possibly none.
    """
    if not isinstance(facts, FetchedFacts) or registry is None:
        return facts, facts.registry if isinstance(facts, FetchedFacts) else registry
    if not isinstance(registry, RegistryClient):
        raise TypeError("fetched facts and pinning must share one RegistryClient")
    return replace(facts, registry=registry), registry


_NOBODY = Container("", "regular", "")


def _pin(result: str, note: str = "") -> Pin:
    return Pin(_NOBODY, "", result, note)
