"""gate_regorus reads the input document and returns the rule's value without JSON text in
between: what it builds is what regorus's JSON parser builds from ``json.dumps(document)``
(the same value, the same number types, the same errors), and what it returns is what
``json.loads`` makes of the value's JSON text (issue 14)."""

from __future__ import annotations

import enum
import json
import math
import os
from typing import Any

import pytest

from gate.policy.interpreter import InputError, converted, new_interpreter
from tests.conftest import require_module

gate_regorus = require_module("gate_regorus")

# The input as regorus holds it, with each number's type: JSON text shows 1 and 1.0 apart.
ECHO = """package echo

value := input

types := walk_types(input)

walk_types(x) := [[path, type_name(v)] | walk(x, [path, v])]
"""


class Level(enum.IntEnum):
    HIGH = 3


class Name(enum.StrEnum):
    WEB = "web"


def _nested(depth: int) -> Any:
    """``depth`` lists, one inside the other."""
    return json.loads("[" * depth + "]" * depth)


DOCUMENTS: list[Any] = [
    {},
    {"a": None, "b": True, "c": False, "d": "", "e": [], "f": {}},
    {"n": [0, 1, -1, 2**63 - 1, -(2**63), 2**64 - 1, 10**15]},
    {"x": [0.0, -0.0, 1.0, 1.5, -2.25, 1e300, 5e-324, 0.1 + 0.2, 1e16]},
    {"s": ["é", "日本", "\U0001f600", "\x00", '\n\t"\\', "a" * 10_000]},
    {"t": (1, "two", (3.0, None)), "nested": {"l": [{"k": [{"deep": True}]}]}},
    {"same key": [{"id": i, "severity": "HIGH"} for i in range(50)]},
    # Equal keys carried by distinct string objects, and a key of a str subclass.
    {"keys": [{"".join(["sever", "ity"]): i, "id": str(i)} for i in range(3)]},
    {Name.WEB: 1, "web-2": {Name.WEB: [2]}},
    {"enum": [Level.HIGH, Name.WEB]},
    {"depth": _nested(99)},
]

# What the direct conversion leaves to the JSON path, and what that path makes of it.
TO_JSON_PATH: list[Any] = [
    {1: "int key", "b": 2},
    {None: 1, True: 2},
    {"big": 2**64},
    {"small": -(2**63) - 1},
    {"deep": _nested(120)},
]
REFUSED: list[Any] = [
    {"x": math.nan},
    {"x": [math.inf]},
    {"x": -math.inf},
    {"x": b"bytes"},
    {"x": {1, 2}},
    {"x": object()},
]


def _engine() -> Any:
    engine = gate_regorus.Engine()
    engine.add_policy("echo.rego", ECHO)
    return engine


@pytest.mark.parametrize("document", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_the_direct_conversion_builds_what_the_json_parser_builds(document: Any) -> None:
    engine = _engine()
    text = json.dumps(document, allow_nan=False)
    for rule in ("data.echo.value", "data.echo.types"):
        assert engine.eval_rule_document(rule, document) == json.loads(engine.eval_rule(rule, text))


@pytest.mark.parametrize("document", TO_JSON_PATH, ids=range(len(TO_JSON_PATH)))
def test_what_it_cannot_read_takes_the_json_path(document: Any) -> None:
    with pytest.raises(gate_regorus.Unconvertible):
        _engine().eval_rule_document("data.echo.value", document)
    native = new_interpreter("gate_regorus")
    native.add_policy("echo.rego", ECHO)
    text = json.dumps(document)  # a non-string key becomes a string, 2**64 a float
    assert native.evaluate("data.echo.types", document) == json.loads(
        _engine().eval_rule("data.echo.types", text)
    )


@pytest.mark.parametrize("document", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_a_converted_part_is_taken_as_it_is(document: Any) -> None:
    """A part converted once (gate_regorus.Converted) reads as the part itself would."""
    native = new_interpreter("gate_regorus")
    native.add_policy("echo.rego", ECHO)
    part = gate_regorus.Converted(document)
    for rule in ("data.echo.value", "data.echo.types"):
        plain = native.evaluate(rule, {"part": document, "again": [document]})
        assert native.evaluate(rule, {"part": part, "again": [part]}) == plain


def test_a_converted_part_too_deep_where_it_is_placed_takes_the_json_path() -> None:
    part = gate_regorus.Converted(_nested(99))  # 99 deep on its own: within the limit
    engine = _engine()
    assert engine.eval_rule_document("data.echo.types", {"a": part}) is not None
    with pytest.raises(gate_regorus.Unconvertible):  # 101 deep where it is placed
        engine.eval_rule_document("data.echo.types", {"a": {"b": part}})
    native = new_interpreter("gate_regorus")
    native.add_policy("echo.rego", ECHO)
    plain = native.evaluate("data.echo.types", {"a": {"b": _nested(99)}})
    assert native.evaluate("data.echo.types", {"a": {"b": part}}) == plain


def test_the_json_path_reads_converted_parts_as_their_values() -> None:
    """A document whose other parts have no direct conversion (an int beyond 64 bits) goes
    the JSON path, converted parts and all; a part with none stays as it was."""
    native = new_interpreter("gate_regorus")
    native.add_policy("echo.rego", ECHO)
    facts = {"findings": [{"id": "CVE-1", "cvss": 9.5, "fixable": True}], "n": [1, -2]}
    document = {"big": 2**64, "facts": facts}
    expected = native.evaluate("data.echo.types", document)
    assert native.evaluate("data.echo.types", {**document, "facts": converted(facts)}) == expected
    assert converted({"x": 2**64}) == {"x": 2**64} and converted([]) == []


@pytest.mark.parametrize("document", REFUSED, ids=range(len(REFUSED)))
@pytest.mark.parametrize("binding", ["gate_regorus", "regorus"])
def test_a_document_json_has_no_form_for_is_refused_alike(document: Any, binding: str) -> None:
    interpreter = new_interpreter(binding)
    interpreter.add_policy("echo.rego", ECHO)
    with pytest.raises(InputError):
        interpreter.evaluate("data.echo.value", document)


@pytest.mark.parametrize(
    ("value", "error"),
    [(_nested(200), "recursion limit"), ("\ud800", "hex escape")],  # a lone surrogate
)
@pytest.mark.parametrize("binding", ["gate_regorus", "regorus"])
def test_what_the_json_parser_refuses_fails_alike(binding: str, value: Any, error: str) -> None:
    interpreter = new_interpreter(binding)
    interpreter.add_policy("echo.rego", ECHO)
    with pytest.raises((ValueError, RuntimeError), match=error):  # both an EngineError
        interpreter.evaluate("data.echo.value", {"x": value})


# Values a rule can make that no JSON input has: sets, non-string keys, computed numbers.
VALUES = """package values

set_of_mixed := {1, "a", [2], {"k": 3.5}, null, false}

int_keys := {1: "one", "1": "string one", 2.5: "float"}

nested_int_keys := {"outer": [{[1]: true}]}

numbers := [1 / 3, 10 / 2, 3.0, 2 * 1.5, 1e3, 1e21, -0, 0.1 + 0.2, 9007199254740993]

big := 18446744073709551615 + 1

empty_comprehension := [x | some x in [1, 2]; x > 5]

empty := {"a": {}, "b": [], "c": set()}

null_value := null
"""


@pytest.mark.parametrize(
    "rule",
    [
        "set_of_mixed",
        "int_keys",
        "nested_int_keys",
        "numbers",
        "big",
        "empty_comprehension",
        "empty",
        "null_value",
    ],
)
def test_the_value_comes_back_as_json_loads_makes_it(rule: str) -> None:
    engine = gate_regorus.Engine()
    engine.add_policy("values.rego", VALUES)
    direct = engine.eval_rule_document(f"data.values.{rule}", {})
    via_json = json.loads(engine.eval_rule(f"data.values.{rule}", "{}"))
    assert direct == via_json
    assert repr(direct) == repr(via_json)  # 5 and 5.0, key order alike


def test_an_undefined_rule_is_none() -> None:
    engine = gate_regorus.Engine()
    engine.add_policy("t.rego", "package t\n\nr if input.x == 1\n")
    assert engine.eval_rule_document("data.t.r", {"x": 2}) is None
    assert engine.eval_rule("data.t.r", '{"x": 2}') is None


def test_mimalloc_commits_its_arenas_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eager commits kept about 40 MB more resident per worker (8 pool threads), no faster.
    monkeypatch.delenv("MIMALLOC_ARENA_EAGER_COMMIT", raising=False)
    new_interpreter("gate_regorus")
    assert os.environ["MIMALLOC_ARENA_EAGER_COMMIT"] == "0"
    monkeypatch.setenv("MIMALLOC_ARENA_EAGER_COMMIT", "1")  # the operator's choice stays
    new_interpreter("gate_regorus")
    assert os.environ["MIMALLOC_ARENA_EAGER_COMMIT"] == "1"
