"""Caches shared by every request of a worker: image facts (and, in the evaluator, decisions).

:class:`TTLCache` is a thread-safe LRU with a time to live; expired entries are swept at
most once per TTL, so an entry nobody asks for again is let go within about two TTLs of
being kept (at the next lookup or store); it can also bound its entries' total weight
(the decision cache's bytes). :class:`CachedFacts` wraps a
:class:`FactSource`: one gather per image reference at a time (concurrent requests for
the same image wait for the first), successes kept for the TTL, failures (and facts
gathered with errors) never kept. ``pinned`` hands out one image's kept facts
(:class:`KeptFacts`), so an evaluation queued behind others never fetches them again.

    >>> cache: TTLCache[str, int] = TTLCache(size=2, ttl=60)
    >>> cache.put("a", 1); cache.put("b", 2); cache.put("c", 3)
    >>> cache.get("a"), cache.get("c")
    (None, 3)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts
from gate.reference import ImageRef

K = TypeVar("K")
V = TypeVar("V")
Record = Callable[[str, bool], None]  # (cache name, hit)


class TimedOut(GateError):
    """The time budget ran out while waiting for an upstream answer."""

    kind = "timeout"


class TTLCache(Generic[K, V]):
    """At most ``size`` entries, the least recently used let go first, each for ``ttl``
    seconds; ``clock`` is injectable for tests. With ``weigh``, the entries' weights (their
    bytes, say) add up to at most ``max_weight``: the least recently used go first, and an
    entry heavier than that alone is not kept."""

    def __init__(
        self,
        size: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        weigh: Callable[[V], int] | None = None,
        max_weight: int = 0,
    ):
        self.size, self.ttl, self.clock = size, ttl, clock
        self.weigh, self.max_weight = weigh, max_weight
        self.weight = 0
        self._items: OrderedDict[K, tuple[float, V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._next_sweep = clock() + ttl

    def get(self, key: K) -> V | None:
        with self._lock:
            now = self.clock()
            self._sweep(now)
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= now:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: K, value: V) -> None:
        if self.size <= 0 or self.ttl <= 0:
            return
        weight = self.weigh(value) if self.weigh is not None else 0
        with self._lock:
            now = self.clock()
            self._sweep(now)
            self._drop(key)
            if self.weigh is not None and weight > self.max_weight:
                return
            self._items[key] = (now + self.ttl, value, weight)
            self.weight += weight
            while len(self._items) > self.size or self.weight > self.max_weight > 0:
                self._drop(next(iter(self._items)))

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: K) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.weight -= item[2]

    def _sweep(self, now: float) -> None:
        """Drop every expired entry, at most once per TTL (O(entries) then: amortised over
        the TTL's lookups and stores), so that an entry nobody asks for again goes within
        two TTLs. The caller holds the lock."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.ttl
        for key in [key for key, (expires, _, _) in self._items.items() if expires <= now]:
            self._drop(key)


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
