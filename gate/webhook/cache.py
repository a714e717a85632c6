"""Caches shared by every request of a worker: image facts (and, in the evaluator, decisions).

:class:`TTLCache` is a thread-safe LRU with a time to live. :class:`CachedFacts` wraps a
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
    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.size, self.ttl, self.clock = size, ttl, clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self.clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: K, value: V) -> None:
        if self.size <= 0 or self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (self.clock() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


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
