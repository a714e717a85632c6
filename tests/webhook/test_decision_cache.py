"""The decision cache's memory: a fixed-size key whatever the annotations, expired entries
swept without a lookup, and the entries' bytes bounded in all (a decision heavier than the
bound is answered but not kept)."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import Any

from flask import Flask

from bench.eval import document
from gate.policy.interface import Engine
from gate.webhook.cache import TTLCache
from gate.webhook.decisions import DECISIONS_MAX_BYTES, decision_key, decision_weight
from gate.webhook.state import WebhookState
from tests.webhook.conftest import AppFactory, answer
from tests.webhook.reviews import COMPLIANT, TAG_ONLY, review, workload
from tests.webhook.test_cache import Clock

ANNOTATION = 256 * 1024  # the most the API server lets one annotation value hold


def many_containers(image: str, count: int, note: str, name: str = "c") -> dict[str, Any]:
    """A review of a Pod with ``count`` containers of ``image`` (named ``name`` and their
    index) and one ``ANNOTATION``-character annotation made of ``note``."""
    body = review(workload("Pod", image, annotations={"note": note * ANNOTATION}))
    first = body["request"]["object"]["spec"]["containers"][0]
    containers = [dict(first, name=f"{name}{i}") for i in range(count)]
    body["request"]["object"]["spec"]["containers"] = containers
    return body


def decisions_of(app: Flask) -> TTLCache[Any, Any]:
    state: WebhookState = app.extensions["gate"]
    return state.evaluator.decisions


def retained_by_a_review(app: Flask, body: dict[str, Any], allowed: bool = True) -> int:
    """The bytes still allocated once the review is answered and its objects collected."""
    client = app.test_client()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert answer(client, body)["response"]["allowed"] is allowed
        del body
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_what_the_cache_keeps_does_not_grow_with_the_annotations(make_app: AppFactory) -> None:
    app = make_app()
    answer(app.test_client(), many_containers(COMPLIANT, 20, "a"))  # warm: one-time costs
    retained = retained_by_a_review(app, many_containers(COMPLIANT, 20, "b"))
    assert len(decisions_of(app)) == 40  # one decision per container and annotation
    # 20 entries of about 1.5 KB; keyed by the workload JSON, they held 20 x 256 KiB
    assert retained < 200_000, retained


def test_the_key_is_a_digest_of_everything_the_policies_see() -> None:
    base = {"namespace": "default", "annotations": {"a": "1", "b": "x" * ANNOTATION}}
    reordered = {"annotations": {"b": "x" * ANNOTATION, "a": "1"}, "namespace": "default"}
    other = {"namespace": "default", "annotations": {"a": "2", "b": "x" * ANNOTATION}}
    key = decision_key(COMPLIANT, base)
    assert len(key) == 32 and key == decision_key(COMPLIANT, reordered)
    assert key != decision_key(COMPLIANT, other) and key != decision_key(TAG_ONLY, base)
    # the image and the context are not merely concatenated
    assert decision_key("a", {"b": 1}) != decision_key('a", {"b": 1', {})


def test_identical_reviews_still_hit_the_cache(make_app: AppFactory) -> None:
    client = make_app().test_client()
    for _ in range(2):
        message = answer(client, many_containers(TAG_ONLY, 3, "a"))["response"]["status"]
        assert "container 'c2'" in message["message"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gate_cache_lookups_total{cache="decisions",result="hit"} 3.0' in metrics
    assert 'gate_cache_lookups_total{cache="decisions",result="miss"} 3.0' in metrics


def test_expired_entries_go_without_a_lookup() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(size=100, ttl=10, clock=clock)
    cache.put("a", 1)
    clock.now = 5.0
    cache.put("b", 2)
    clock.now = 10.0  # a expired; b has 5 s left
    cache.put("c", 3)
    assert len(cache) == 2 and cache.get("b") == 2
    clock.now = 19.0  # b expired, but the last sweep was 9 s ago: at most one per TTL
    assert cache.get("c") == 3 and len(cache) == 2
    clock.now = 20.0  # a lookup of another key sweeps too
    assert cache.get("zzz") is None and len(cache) == 0


def test_the_decision_cache_lets_expired_reviews_go(make_app: AppFactory) -> None:
    app, clock = make_app(), Clock()
    state: WebhookState = app.extensions["gate"]
    state.evaluator.decisions = TTLCache(1000, 10, clock)
    client = app.test_client()
    answer(client, many_containers(COMPLIANT, 5, "a"))
    assert len(decisions_of(app)) == 5
    clock.now = 10.0
    answer(client, review(workload("Pod", COMPLIANT)))
    assert len(decisions_of(app)) == 1  # the five are gone though never looked up again


def test_decisions_are_kept_within_their_bytes_and_answered_the_same(
    make_app: AppFactory,
) -> None:
    long_name = "n" * 100_000  # a direct client is not held to Kubernetes' 63 characters
    body = many_containers(TAG_ONLY, 2, "a", name=long_name)
    cached, uncached = make_app(), make_app(decision_cache_size=0)
    decisions = decisions_of(cached)
    assert decisions.max_weight == DECISIONS_MAX_BYTES
    decisions.max_weight = 1_000_000  # room for one of these decisions (700 KB), not two
    for _ in range(2):
        answered = answer(cached.test_client(), body)["response"]
        assert answered == answer(uncached.test_client(), body)["response"]
        assert answered["allowed"] is False and "container nnnn" in answered["status"]["message"]
    assert len(decisions) == 1 and 500_000 < decisions.weight <= 1_000_000
    answer(cached.test_client(), review(workload("Pod", TAG_ONLY)))  # three violations
    assert len(decisions) == 2  # the small one fits beside it
    decisions.max_weight = 500_000
    heavier = many_containers(TAG_ONLY, 1, "z", name=long_name)  # a key not seen yet
    assert not answer(cached.test_client(), heavier)["response"]["allowed"]
    assert len(decisions) == 2  # too heavy alone: answered, not kept


def deep_size(value: object) -> int:
    """sys.getsizeof of ``value`` and of everything it holds (dataclasses included)."""
    size, stack, seen = 0, [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        size += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return size


def test_an_entry_weighs_about_what_it_holds(make_app: AppFactory, engine: Engine) -> None:
    app = make_app()
    allow = many_containers(COMPLIANT, 1, "a")
    deny = many_containers(TAG_ONLY, 1, "b", name="n" * 10_000)
    for body in (allow, deny):
        answer(app.test_client(), body)
    (_, allowed, _), (_, denied, _) = decisions_of(app)._items.values()
    listing = ("sha256:" + "1" * 64, engine.evaluate(document(1000)))  # 166 findings listed
    assert sum(len(v.findings) for v in listing[1].violations) > 100
    for kept in (allowed, denied, listing):
        held = deep_size(kept) + 200  # its key and its place in the cache
        assert held / 2 <= decision_weight(kept) <= held * 3, (held, decision_weight(kept))
