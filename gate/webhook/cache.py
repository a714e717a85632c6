r"""Caches shared by every request of a worker: image facts (and, in the evaluator, decisions).

Both are :class:`gate.lru.TTLCache`\ s (a thread-safe LRU with a time to live, bounded in
entries and, optionally, in weight). :class:`CachedFacts` wraps a
:class:`FactSource`: one gather per image reference at a time (concurrent requests for
the same image wait for the first), successes kept for the TTL, failures (and facts
gathered with errors) never kept. ``pinned`` hands out one image's kept facts
(:class:`KeptFacts`), so an evaluation queued behind others never fetches them again.

    >>> from gate.reference import parse_reference
    >>> from gate.webhook.facts import UnconfiguredFacts
    >>> facts = CachedFacts(UnconfiguredFacts(), TTLCache(size=100, ttl=300))
    >>> facts.at_hand(parse_reference("nginx:1.27")) is None  # nothing gathered yet
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts
from gate.lru import TTLCache
from gate.reference import ImageRef
from gate.webhook.weights import facts_weight

__all__ = ["CachedFacts", "KeptFacts", "TTLCache", "TimedOut", "facts_cache"]

Record = Callable[[str, bool], None]  # (cache name, hit)
Kept = tuple[ImageRef, ImageFacts]  # a facts cache entry: the reference as resolved, its facts


class TimedOut(GateError):
    """The time budget ran out while waiting for an upstream answer."""

    kind = "timeout"


def facts_cache(size: int, ttl: float, max_bytes: int) -> TTLCache[str, Kept]:
    """A cache of gathered facts by reference, weighed (:func:`gate.webhook.weights.facts_weight`)
    so that its entries hold at most ``max_bytes``."""
    return TTLCache(size, ttl, weigh=facts_weight, max_weight=max_bytes)


class CachedFacts(FactSource):
    def __init__(
        self,
        inner: FactSource,
        cache: TTLCache[str, tuple[ImageRef, ImageFacts]],
        record: Record = lambda name, hit: None,
    ) -> None:
        self.inner, self.cache, self.record = inner, cache, record
        self.local = inner.local
        self._inflight: dict[str, Future[tuple[ImageRef, ImageFacts]]] = {}
        self._lock = threading.Lock()

    def at_hand(self, ref: ImageRef) -> tuple[ImageRef, ImageFacts] | None:
        found = self.cache.get(ref.normalized)
        if found is not None:
            self.record("facts", True)
        return found

    def pinned(self, ref: ImageRef) -> FactSource | None:
        if self.local:
            return self
        found = self.cache.get(ref.normalized)
        return None if found is None else KeptFacts(ref, found, self.record)

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        key = ref.normalized
        found = self.cache.get(key)
        self.record("facts", found is not None)
        if found is not None:
            return found
        with self._lock:
            waiting = self._inflight.get(key)
            if waiting is None:
                mine: Future[tuple[ImageRef, ImageFacts]] = Future()
                self._inflight[key] = mine
        if waiting is not None:
            return _wait(waiting, ref, deadline)
        try:
            result = self.inner.gather(ref, deadline)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            if not result[1].errors:  # partial facts are a failure too: never kept
                self.cache.put(key, result)
            mine.set_result(result)
            return result
        finally:
            with self._lock:
                self._inflight.pop(key, None)


class KeptFacts(FactSource):
    """One image's facts as the cache held them: still at hand when the cache has let
    them expire while the evaluation waited for a lane."""

    def __init__(self, ref: ImageRef, kept: tuple[ImageRef, ImageFacts], record: Record) -> None:
        self.key, self.kept, self.record = ref.normalized, kept, record

    def at_hand(self, ref: ImageRef) -> tuple[ImageRef, ImageFacts] | None:
        if ref.normalized != self.key:
            return None
        self.record("facts", True)
        return self.kept

    def pinned(self, ref: ImageRef) -> FactSource | None:
        return self if ref.normalized == self.key else None

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        kept = self.at_hand(ref)
        if kept is None:  # only one image's facts were kept: never fetch for another
            raise GateError(
                f"gate kept no facts for {ref}", hint="report it as a bug: this is not expected"
            )
        return kept


def _wait(
    future: Future[tuple[ImageRef, ImageFacts]], ref: ImageRef, deadline: float
) -> tuple[ImageRef, ImageFacts]:
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout as exc:
        raise TimedOut(
            f"the facts of {ref} did not arrive within the time budget",
            hint="the registry or the scanner is slow: check gate's upstream error metrics",
        ) from exc
