"""The usage examples in gate.audit's module docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gate.audit.events",
    "gate.audit.inventory",
    "gate.audit.kube",
    "gate.audit.logs",
    "gate.audit.metrics",
    "gate.audit.record",
    "gate.audit.render",
    "gate.audit.reports",
    "gate.audit.results",
    "gate.audit.running",
    "gate.audit.settings",
    "gate.audit.store",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
