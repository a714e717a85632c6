r"""A thread-safe LRU cache with a time to live, bounded in entries and optionally in weight.

Expired entries are swept at most once per TTL, so an entry nobody asks for again is let go
within about two TTLs of being kept (at the next lookup or store). The webhook's facts and
decision caches, the attestation caches and the registry client's tag cache are
:class:`TTLCache`\ s.

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
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


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
