"""Caches for registry content: digest-keyed LRU, short-lived tag resolutions, single-flight.

Content named by a digest never changes, so verified manifests and configs are kept
(bounded by entries and bytes, least recently used out first). Keys include the
repository: a digest present in one repository says nothing about another. Tags move,
so a tag's digest is kept for a short TTL only. :class:`SingleFlight` makes concurrent
requests for one key share one fetch: the first caller fetches, the others wait (within
their own deadline) for its result or its error.

    >>> cache = ContentCache(max_entries=2, max_bytes=10)
    >>> cache.put(("r/a", "sha256:1"), b"12345", 5); cache.put(("r/a", "sha256:2"), b"678", 3)
    >>> cache.get(("r/a", "sha256:1"))
    b'12345'
    >>> cache.put(("r/a", "sha256:3"), b"9", 1)  # evicts sha256:2, the least recently used
    >>> cache.get(("r/a", "sha256:2")) is None
    True
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, cast

from gate.lru import TTLCache

T = TypeVar("T")


class ContentCache:
    """A thread-safe LRU of immutable values, bounded by entry count and total size."""

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` (``size`` bytes); a value bigger than the whole cache is not kept."""
        if size > self.max_bytes or self.max_entries <= 0:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes


class TagCache:
    """Tag → digest for ``ttl`` seconds (0 turns it off), at most ``max_entries`` of them
    (:class:`gate.lru.TTLCache`: a long-running webhook sees a new tag with every build,
    and expired tags go without being asked for again)."""

    def __init__(
        self,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 20_000,
    ) -> None:
        self.hits = 0
        self._items: TTLCache[tuple[str, str], str] = TTLCache(max_entries, ttl, clock)

    def get(self, name: str, tag: str) -> str | None:
        digest = self._items.get((name, tag))
        if digest is not None:
            self.hits += 1
        return digest

    def put(self, name: str, tag: str, digest: str) -> None:
        self._items.put((name, tag), digest)

    def __len__(self) -> int:
        return len(self._items)


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Concurrent :meth:`do` calls with one key run ``fetch`` once and share the outcome."""

    def __init__(self) -> None:
        self._calls: dict[Hashable, _Call[T]] = {}
        self._lock = threading.Lock()

    def do(
        self, key: Hashable, fetch: Callable[[], T], wait: float, on_timeout: Callable[[], T]
    ) -> T:
        """``fetch()``'s result; a follower waits at most ``wait`` s, then ``on_timeout()``."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            if not call.done.wait(wait):
                return on_timeout()
            if call.error is not None:
                raise call.error
            return cast(T, call.value)
        try:
            call.value = fetch()
            return call.value
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
