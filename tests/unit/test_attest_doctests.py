"""The usage examples in gate.attest's module docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gate.attest",
    "gate.attest.algorithms",
    "gate.attest.attestor",
    "gate.attest.clients",
    "gate.attest.commands",
    "gate.attest.evaluator",
    "gate.attest.payload",
    "gate.attest.service",
    "gate.attest.store",
    "gate.attest.signers",
    "gate.attest.signers.interface",
    "gate.attest.signers.kms",
    "gate.attest.signers.local",
    "gate.attest.signers.pkcs11_config",
    "gate.attest.signatures",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
