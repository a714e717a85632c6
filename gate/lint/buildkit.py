"""The typed boundary around the ``dockerfile`` package (BuildKit's Go parser, wrapped).

The package ships no type information; everything else in :mod:`gate.lint` uses the
protocols here, and parse errors become ``BuildKitError``.

    >>> [c.cmd for c in parse_string("FROM scratch\\nCOPY a /a\\n")]
    ['FROM', 'COPY']
"""

from __future__ import annotations

from typing import Protocol, cast

import dockerfile  # type: ignore[import-not-found]


class BuildKitError(Exception):
    """BuildKit refused the text (an unterminated heredoc, no instructions, ...)."""


class Heredoc(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def file_descriptor(self) -> int: ...
    @property
    def content(self) -> str: ...


class Command(Protocol):
    """One instruction as BuildKit parsed it; lines are 1-based and inclusive."""

    @property
    def cmd(self) -> str: ...
    @property
    def sub_cmd(self) -> str | None: ...
    @property
    def json(self) -> bool: ...
    @property
    def original(self) -> str: ...
    @property
    def start_line(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def flags(self) -> tuple[str, ...]: ...
    @property
    def value(self) -> tuple[str, ...]: ...
    @property
    def heredocs(self) -> tuple[Heredoc, ...]: ...


def parse_string(text: str) -> tuple[Command, ...]:
    try:
        return cast(tuple[Command, ...], dockerfile.parse_string(text))
    except dockerfile.GoParseError as exc:
        raise BuildKitError(str(exc)) from exc


def known_instructions() -> frozenset[str]:
    """Every instruction BuildKit knows, lower case."""
    return frozenset(cast(list[str], dockerfile.all_cmds()))
