"""One renderer interface: every subcommand's ``--output`` choices are the formats its
renderer table has, and every renderer writes through the same method."""

from __future__ import annotations

import argparse

import pytest

from gate.attest.output import ATTEST_OUTPUTS, VERIFY_OUTPUTS
from gate.audit.render import AUDIT_OUTPUTS
from gate.cli.parser import build_parser
from gate.lint.output import LINT_OUTPUTS
from gate.policy.rego_tests import TEST_OUTPUTS
from gate.report.decision import EVAL_OUTPUTS
from gate.report.interface import Renderer, Renderers

TABLES: dict[str, Renderers[object]] = {
    "eval": EVAL_OUTPUTS,
    "lint": LINT_OUTPUTS,
    "test": TEST_OUTPUTS,
    "attest": ATTEST_OUTPUTS,
    "verify": VERIFY_OUTPUTS,
    "audit": AUDIT_OUTPUTS,
}


def output_choices(command: str) -> list[str]:
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    (output,) = [a for a in subparsers.choices[command]._actions if a.dest == "output"]
    assert output.default in output.choices
    return list(output.choices)


@pytest.mark.parametrize("command", sorted(TABLES))
def test_the_output_choices_are_the_renderers(command: str) -> None:
    table = TABLES[command]
    assert sorted(output_choices(command)) == sorted(table)
    assert all(isinstance(renderer, Renderer) for renderer in table.values())
