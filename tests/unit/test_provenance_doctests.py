"""The usage examples in gate.facts.provenance's module docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gate.facts.provenance",
    "gate.facts.provenance.interface",
    "gate.facts.provenance.settings",
    "gate.facts.provenance.keys",
    "gate.facts.provenance.dsse",
    "gate.facts.provenance.statement",
    "gate.facts.provenance.cosign",
    "gate.facts.provenance.bundle",
    "gate.facts.provenance.judge",
    "gate.facts.provenance.layers",
    "gate.facts.provenance.registry",
    "gate.facts.provenance.artifact_analysis",
    "gate.facts.provenance.source",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
