"""The usage examples in gate.api's module docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gate.api.auth",
    "gate.api.errors",
    "gate.api.jwks",
    "gate.api.limits",
    "gate.api.operations",
    "gate.api.routes",
    "gate.api.schema",
    "gate.api.settings",
    "gate.api.state",
    "tests.api.issuer",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
