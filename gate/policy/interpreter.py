"""The regorus interpreter the embedded engine evaluates with, through one of two bindings.

``gate_regorus`` is gate's own binding (``native/gate_regorus``, built by
``scripts/setup.sh``): it evaluates with the GIL released, so the threads of a worker
evaluate a review's images on every core. ``regorus`` is regorus's own binding from PyPI:
it keeps the GIL while it evaluates, so a worker evaluates one image at a time. Both run
regorus's interpreter with its defaults (Rego v1, builtin errors raised): the parity test
checks the one in use against OPA, and tests/unit/test_interpreter.py both against each
other. ``auto`` takes gate's binding when it is installed. Both take the input document
as Python objects: gate_regorus converts it directly, regorus's binding reads it as
``json.dumps`` text (``set_input(dict)`` would let NaN in, see ``input_json``).

    >>> interpreter = new_interpreter("regorus")
    >>> interpreter.add_policy("t.rego", "package t\\nr := input.x + 1")
    >>> interpreter.evaluate("data.t.r", {"x": 1})
    2
"""

from __future__ import annotations

import abc
import importlib.util
import json
import os
from collections.abc import Mapping
from typing import Any

import regorus

BINDINGS = ("auto", "gate_regorus", "regorus")


class Interpreter(abc.ABC):
    """Policies and data added once; then one rule evaluated per input document.

    Library failures pass through as the bindings raise them (``ValueError`` for a policy
    or data they refuse, ``RuntimeError`` for a failed evaluation), and ``InputError`` for
    a document JSON has no form for; the embedded engine turns them into EngineError.
    """

    binding: str

    @abc.abstractmethod
    def add_policy(self, path: str, source: str) -> None: ...

    @abc.abstractmethod
    def add_data(self, data: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def evaluate(self, rule: str, document: Mapping[str, Any], seconds: float | None = None) -> Any:
        """``rule``'s value on the input ``document``, None when it is undefined.

        ``seconds``: :class:`TimeLimitError` once the evaluation has run that long (wall
        clock), on a binding that can stop one (gate_regorus; regorus's own has no limit).
        """

    def copy(self) -> Interpreter | None:
        """An interpreter for another thread that shares this one's compiled policies and
        data, or None when the binding's engines may not cross threads (compile one there)."""
        return None


class InputError(ValueError):
    """The input document has no JSON form (NaN, Infinity, a type JSON lacks)."""


class TimeLimitError(RuntimeError):
    """The evaluation was still running when the seconds it was given ran out."""


def input_json(document: Mapping[str, Any]) -> str:
    """``document`` as JSON text, refusing NaN and Infinity as OPA does (Python's JSON
    parsers let them into scan reports and reviews). Parts converted for gate_regorus
    (:func:`converted`) are written as their values."""
    try:
        return json.dumps(document, allow_nan=False, default=_converted_value)
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from exc


def _converted_value(part: Any) -> Any:
    to_python = getattr(part, "to_python", None)
    if to_python is None:
        raise TypeError(f"Object of type {type(part).__name__} is not JSON serializable")
    return to_python()


def converted(part: Any) -> Any:
    """``part`` of an input document converted once into gate_regorus's values
    (``gate_regorus.Converted``), which its documents take as they are; ``part`` itself
    when it is empty or has no direct conversion (the JSON path then decides). On the
    JSON path a converted part is written from its value (``1.0`` as ``1``: the same
    number to the policies)."""
    if not part:
        return part
    import gate_regorus

    try:
        return gate_regorus.Converted(part)
    except gate_regorus.Unconvertible:
        return part


class NativeInterpreter(Interpreter):
    """gate_regorus: evaluation with the GIL released."""

    binding = "gate_regorus"

    def __init__(self, engine: Any = None) -> None:
        # gate_regorus allocates with mimalloc, whose arenas are committed eagerly by
        # default: with 8 pool threads a worker's RSS was 142 MB instead of 104 (the
        # system allocator's) for the same CPU. mimalloc reads its options when the
        # library loads, so this precedes the first import; a value set by the operator wins.
        os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
        import gate_regorus

        self._engine = engine if engine is not None else gate_regorus.Engine()
        self._unconvertible: type[Exception] = gate_regorus.Unconvertible
        self._time_limit: type[Exception] = gate_regorus.TimeLimitExceeded

    def copy(self) -> NativeInterpreter:
        return NativeInterpreter(self._engine.copy())

    def add_policy(self, path: str, source: str) -> None:
        self._engine.add_policy(path, source)

    def add_data(self, data: Mapping[str, Any]) -> None:
        self._engine.add_data_json(json.dumps(data))

    def evaluate(self, rule: str, document: Mapping[str, Any], seconds: float | None = None) -> Any:
        try:
            try:
                return self._engine.eval_rule_document(rule, document, seconds)
            except self._unconvertible:  # the JSON path decides what JSON makes of it
                value = self._engine.eval_rule(rule, input_json(document), seconds)
        except self._time_limit as exc:
            raise TimeLimitError(str(exc)) from exc
        return None if value is None else json.loads(value)


class BindingInterpreter(Interpreter):
    """regorus's own Python binding: evaluation with the GIL held."""

    binding = "regorus"

    def __init__(self) -> None:
        self._engine = regorus.Engine()

    def add_policy(self, path: str, source: str) -> None:
        self._engine.add_policy(path, source)

    def add_data(self, data: Mapping[str, Any]) -> None:
        self._engine.add_data(data)

    def evaluate(self, rule: str, document: Mapping[str, Any], seconds: float | None = None) -> Any:
        self._engine.set_input_json(input_json(document))
        return self._engine.eval_rule(rule)


def native_available() -> bool:
    """Whether gate's binding (the ``gate_regorus`` module) is installed."""
    return importlib.util.find_spec("gate_regorus") is not None


def resolve_binding(binding: str) -> str:
    """The binding ``binding`` names: ``auto`` is gate_regorus when installed, else regorus."""
    if binding == "auto":
        return "gate_regorus" if native_available() else "regorus"
    if binding not in BINDINGS:
        raise ValueError(f"unknown regorus binding {binding!r}: one of {', '.join(BINDINGS)}")
    return binding


def new_interpreter(binding: str = "auto") -> Interpreter:
    """An empty interpreter on ``binding``; ImportError when gate_regorus is asked for
    and not installed."""
    if resolve_binding(binding) == "gate_regorus":
        return NativeInterpreter()
    return BindingInterpreter()
