"""Typed ``GATE_*`` variables for a frozen settings dataclass, field by field.

Each field's type names its parser (text, bool, number, whole number, comma list,
``KEY=VALUE`` list); a value that does not parse is a :class:`ConfigError` naming the
variable. Only :mod:`gate.config` hands the environment in.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class S:
    ...     budget: float = 1.0
    ...     hosts: tuple[str, ...] = ()
    >>> fields_from_env(S, {"GATE_BUDGET": "2.5", "GATE_HOSTS": "a, b"})
    {'budget': 2.5, 'hosts': ('a', 'b')}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from gate.errors import ConfigError

TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def fields_from_env(
    cls: type, env: Mapping[str, str], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The fields of ``cls`` set in ``env`` (as ``GATE_<FIELD>``, or ``names[field]``).

    Fields of other types (paths, nested groups) are the caller's to read.
    """
    values: dict[str, Any] = {}
    for item in fields(cls):
        if str(item.type) not in PARSERS:
            continue
        name = (names or {}).get(item.name, f"GATE_{item.name.upper()}")
        raw = env.get(name, "").strip()
        if raw:
            values[item.name] = PARSERS[str(item.type)](name, raw)
    return values


def parse_bool(name: str, raw: str) -> bool:
    if raw.lower() in TRUE | FALSE:
        return raw.lower() in TRUE
    raise ConfigError(f"{name}={raw!r} is not a boolean", hint="write true or false")


def parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc


def parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc


def parse_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def parse_pairs(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in parse_list(name, raw):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{name}: {part!r} is not KEY=VALUE", hint=f"e.g. {name}=a=b,c=d")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def parse_text(name: str, raw: str) -> str:
    return raw


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "str": parse_text,
    "bool": parse_bool,
    "float": parse_float,
    "int": parse_int,
    "tuple[str, ...]": parse_list,
    "tuple[tuple[str, str], ...]": parse_pairs,
}
