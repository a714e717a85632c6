"""The shared caches: TTL and LRU, one gather per image at a time, failures never kept."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts
from gate.reference import ImageRef, parse_reference
from gate.webhook.cache import CachedFacts, TimedOut, TTLCache

REF = parse_reference("us-docker.pkg.dev/p/r/app@sha256:" + "a" * 64)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_and_the_least_recently_used_goes_first() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(size=2, ttl=10, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    clock.now = 10.0
    assert cache.get("a") is None and len(cache) == 0  # c expired too: swept, not looked up


def test_a_zero_ttl_or_size_keeps_nothing() -> None:
    for cache in (TTLCache[str, int](size=0, ttl=5), TTLCache[str, int](size=5, ttl=0)):
        cache.put("a", 1)
        assert cache.get("a") is None


class SlowFacts(FactSource):
    def __init__(self, delay: float, fail: bool = False) -> None:
        self.delay, self.fail, self.calls = delay, fail, 0

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.calls += 1
        time.sleep(self.delay)
        if self.fail:
            raise GateError("registry down", hint="retry")
        return ref, ImageFacts()


def cached(source: FactSource) -> tuple[CachedFacts, list[tuple[str, bool]]]:
    seen: list[tuple[str, bool]] = []
    return CachedFacts(source, TTLCache(100, 60), lambda name, hit: seen.append((name, hit))), seen


def test_concurrent_gathers_of_one_image_make_one_call() -> None:
    source = SlowFacts(0.2)
    facts, seen = cached(source)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: facts.gather(REF, time.monotonic() + 5), range(8)))
    assert source.calls == 1 and all(r[0] == REF for r in results)
    assert seen.count(("facts", False)) == 8  # all missed the cache; seven waited for the first
    facts.gather(REF, time.monotonic() + 5)
    assert seen[-1] == ("facts", True)


def test_failures_are_shared_with_waiters_but_never_kept() -> None:
    source = SlowFacts(0.1, fail=True)
    facts, _ = cached(source)
    errors: list[Exception] = []

    def attempt() -> None:
        try:
            facts.gather(REF, time.monotonic() + 5)
        except GateError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 3 and source.calls == 1
    with pytest.raises(GateError):
        facts.gather(REF, time.monotonic() + 5)
    assert source.calls == 2


def test_a_waiter_gives_up_at_its_own_deadline() -> None:
    facts, _ = cached(SlowFacts(1.0))
    threading.Thread(target=facts.gather, args=(REF, time.monotonic() + 5)).start()
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(TimedOut, match="did not arrive within the time budget"):
        facts.gather(REF, time.monotonic() + 0.2)
    assert time.monotonic() - started < 0.5


class PartialFacts(FactSource):
    """The registry answered, the scanner did not: facts with an error."""

    def __init__(self) -> None:
        self.calls = 0

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.calls += 1
        return ref, ImageFacts(errors=(GateError("scanner down", hint="retry"),))


def test_facts_gathered_with_an_error_are_never_kept() -> None:
    source = PartialFacts()
    facts, _ = cached(source)
    for _ in range(2):
        _, found = facts.gather(REF, time.monotonic() + 5)
        assert [e.message for e in found.errors] == ["scanner down"]
    assert source.calls == 2  # asked again: the scanner may be back


def test_facts_at_hand_are_only_the_kept_ones_and_contact_nothing() -> None:
    source = SlowFacts(0.0)
    facts, seen = cached(source)
    assert facts.at_hand(REF) is None and seen == [] and source.calls == 0
    gathered = facts.gather(REF, time.monotonic() + 5)
    assert facts.at_hand(REF) == gathered and source.calls == 1
    assert seen[-1] == ("facts", True)
    assert facts.at_hand(parse_reference("us-docker.pkg.dev/p/r/other:1")) is None


def test_pinned_facts_outlive_their_cache_entry_and_answer_for_their_image_only() -> None:
    source, clock = SlowFacts(0.0), Clock()
    seen: list[tuple[str, bool]] = []
    facts = CachedFacts(
        source, TTLCache(100, 10, clock), lambda name, hit: seen.append((name, hit))
    )
    assert facts.pinned(REF) is None  # must be fetched
    gathered = facts.gather(REF, time.monotonic() + 5)
    pinned = facts.pinned(REF)
    assert pinned is not None
    clock.now = 10.0  # the cache lets it go
    assert facts.at_hand(REF) is None
    assert pinned.at_hand(REF) == pinned.gather(REF, time.monotonic() + 5) == gathered
    assert source.calls == 1 and seen[-1] == ("facts", True)
    other = parse_reference("us-docker.pkg.dev/p/r/other@sha256:" + "b" * 64)
    assert pinned.at_hand(other) is None and pinned.pinned(other) is None
    with pytest.raises(GateError, match="kept no facts"):
        pinned.gather(other, time.monotonic() + 5)
    assert source.calls == 1


def test_a_local_source_is_pinned_as_it_is() -> None:
    source = SlowFacts(0.0)
    source.local = True
    facts, _ = cached(source)
    assert facts.pinned(REF) is facts


def test_weights_bound_the_entries_least_recently_used_first() -> None:
    cache: TTLCache[str, str] = TTLCache(size=10, ttl=60, weigh=len, max_weight=10)
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    assert cache.get("a") == "xxxx"
    cache.put("c", "xxxx")  # 12 > 10: b, the least recently used, goes
    assert cache.get("b") is None and cache.get("a") == "xxxx" and cache.weight == 8
    cache.put("d", "x" * 11)  # heavier than the bound alone: not kept, nothing let go
    assert cache.get("d") is None and len(cache) == 2
    cache.put("a", "x")  # replaced: its old weight given back
    assert cache.weight == 5
