"""Policy parameters in ``--data`` files keep the JSON types of the policy set's defaults.

The defaults of every parameter are in the policy set's ``data.json`` and nowhere else
(policies/README.md). A ``--data`` file that gives one another JSON type would make a
policy judge nonsense (Rego orders every string above every number, so
``max_age_days: "90"`` would compare as "older than any age") or stop an evaluation on a
builtin error, and either would deny every image with a message about something else.
So a parameter whose default is an object must stay an object (its known keys checked
in turn), a string a string, a number a number, a boolean a boolean, a list a list (and,
when the default list's items share one type, each item of that type). A default of
``null``, keys the defaults do not have, and the items of a default empty list are not
checked.

    >>> defaults = {"gate": {"params": {"freshness": {"max_age_days": 90}}}}
    >>> mismatches({"gate": {"params": {"freshness": {"max_age_days": "90"}}}}, defaults)
    ['data.gate.params.freshness.max_age_days is a string ("90"); expected a number, as its default (90)']
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from gate.errors import ConfigError

SHOWN = 5  # mismatches named in the error; the rest are counted


def check_override(path: str, override: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """ConfigError naming the parameters of ``override`` (a ``--data`` file) whose JSON
    type differs from their default in ``defaults`` (the policy set's data)."""
    found = mismatches(override, defaults)
    if not found:
        return
    more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
    raise ConfigError(
        f"{path}: {'; '.join(found[:SHOWN])}{more}",
        hint="give each parameter the type of its default in the policy set's data.json "
        "(policies/README.md lists them)",
    )


def mismatches(override: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Every parameter under data.gate.params in ``override`` not of its default's type."""
    given, known = _params(override), _params(defaults)
    if given is None or known is None:
        return []
    return list(_compare(given, known, "data.gate.params"))


def _params(data: Mapping[str, Any]) -> Any:
    gate = data.get("gate")
    return gate.get("params") if isinstance(gate, Mapping) else None


def _compare(value: Any, default: Any, where: str) -> Iterator[str]:
    if default is None:
        return
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping):
            yield _object(where, value)
            return
        for key, item in value.items():
            if key in default:
                yield from _compare(item, default[key], f"{where}.{key}")
        return
    if _kind(value) != _kind(default):
        yield f"{where} is {_kind(value)} ({_show(value)}); expected {_kind(default)}, as its default ({_show(default)})"
        return
    kinds = {_kind(item) for item in default} if isinstance(default, list) else set()
    if len(kinds) == 1:
        (kind,) = kinds
        for i, item in enumerate(value):
            if _kind(item) != kind:
                yield f"{where}[{i}] is {_kind(item)} ({_show(item)}); expected {kind}, as the default's items"


def _object(where: str, value: Any) -> str:
    return f"{where} is {_kind(value)} ({_show(value)}); expected an object"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
