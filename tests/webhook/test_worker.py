"""gate serve's worker: what it loaded at start is kept out of the collector's full passes;
the usage examples of the modules it serves with."""

from __future__ import annotations

import doctest
import gc
import importlib

import pytest

from gate.webhook.worker import freeze_startup_objects
from tests.webhook.conftest import AppFactory


def test_a_full_collection_no_longer_walks_the_loaded_app(make_app: AppFactory) -> None:
    """Before, the app a worker loads sat in the oldest generation, and every full
    collection walked all of it (about 100 ms holding the GIL) and waited for a quarter
    as much garbage to pile up first."""
    app = make_app()
    app.test_client().get("/readyz")
    gc.collect()
    walked_before = len(gc.get_objects(generation=2))
    try:
        frozen = freeze_startup_objects()
        walked_after = len(gc.get_objects(generation=2))
    finally:
        gc.unfreeze()  # the test process's objects, not a worker's
    # about all of it (threads left by other tests may free or make a few objects meanwhile)
    assert frozen >= 0.9 * walked_before and walked_before > 20_000
    assert walked_after < walked_before / 20


@pytest.mark.parametrize(
    "name",
    [
        "gate.webhook.asgi",
        "gate.webhook.bridge",
        "gate.webhook.connections",
        "gate.webhook.heap",
        "gate.webhook.http1",
    ],
)
def test_the_usage_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
