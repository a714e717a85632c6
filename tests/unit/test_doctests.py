"""The usage examples in the module docstrings of gate's core (evaluation, facts, kinds,
engines, lint and output) run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gate.evaluate",
    "gate.facts.interface",
    "gate.facts.local",
    "gate.webhook.kinds",
    "gate.lru",
    "gate.webhook.cache",
    "gate.webhook.decisions",
    "gate.webhook.weights",
    "gate.facts.registry.budget",
    "gate.webhook.evaluator",
    "gate.policy.params",
    "gate.policy.converted",
    "gate.policy.opa",
    "gate.policy.opa.connection",
    "gate.policy.opa.engine",
    "gate.policy.opa.errors",
    "gate.lint.decision",
    "gate.lint.output",
    "gate.lint.run",
    "gate.report.interface",
    "gate.report.decision",
    "gate.attest.output",
    "gate.cli.parser",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
