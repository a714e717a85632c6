"""BuildKit's instructions: the typed boundary around the ``dockerfile`` package, and one
instruction as a lint input object (flags, mounts, heredocs, expansion).

The ``dockerfile`` package (BuildKit's Go parser, wrapped) ships no type information;
the protocols here are what the rest of :mod:`gate.lint` sees of it.

>>> (c,) = parse_string("COPY --from=build --chown=${UID} /app /srv\\n")
>>> item = instruction(c, {"UID": "10001"}, "\\\\")
>>> item["flags"], item["sources"], item["destination"]
({'from': 'build', 'chown': '10001'}, ['/app'], '/srv')
"""

from __future__ import annotations

from typing import Protocol, cast

import dockerfile  # type: ignore[import-not-found]

from gate.lint.document import Heredoc as HeredocItem
from gate.lint.document import Instruction, Var
from gate.lint.variables import Env, expand


class BuildKitError(Exception):
    """BuildKit refused the text (an unterminated heredoc, no instructions, ...)."""


class BuildKitHeredoc(Protocol):
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
    def heredocs(self) -> tuple[BuildKitHeredoc, ...]: ...


def parse_string(text: str) -> tuple[Command, ...]:
    try:
        return cast(tuple[Command, ...], dockerfile.parse_string(text))
    except dockerfile.GoParseError as exc:
        raise BuildKitError(str(exc)) from exc


def known_instructions() -> frozenset[str]:
    """Every instruction BuildKit knows, lower case."""
    return frozenset(cast(list[str], dockerfile.all_cmds()))


# The instructions whose arguments BuildKit expands (docs: "Environment replacement").
EXPANDED = frozenset(
    {"ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME"}
    | {"WORKDIR", "ONBUILD"}
)


def instruction(command: Command, scope: Env, escape: str) -> Instruction:
    cmd = command.cmd.upper()
    value = list(command.value)
    words = [expand(word, scope, escape) for word in value] if cmd in EXPANDED else []
    expanded = [text for text, _ in words] if words else value
    flags, mounts = _flags(command.flags, scope, escape)
    heredocs: list[HeredocItem] = [
        {"name": h.name, "content": h.content, "fd": h.file_descriptor} for h in command.heredocs
    ]
    item: Instruction = {
        "cmd": cmd,
        "sub_cmd": (command.sub_cmd or "").upper(),
        "line": command.start_line,
        "end_line": command.end_line,
        "original": command.original,
        "value": value,
        "expanded": expanded,
        "resolved": all(known for _, known in words),
        "json": command.json,
        "flags": flags,
        "mounts": mounts,
        "heredocs": heredocs,
        "command": "",
        "vars": [],
        "sources": [],
        "destination": "",
    }
    if cmd == "RUN":
        item["command"] = "\n".join([" ".join(value)] + [h["content"] for h in heredocs])
    if cmd in ("COPY", "ADD") and expanded:
        item["sources"], item["destination"] = expanded[:-1], expanded[-1]
    return item


def variables(command: Command, scope: Env, escape: str, globals_: Env) -> list[Var]:
    """The names an ``ARG`` or ``ENV`` declares, with their values expanded where known.

    ``ARG NAME`` without a value inside a stage takes the global ``ARG``'s default.
    """
    line = command.start_line
    if command.cmd.upper() == "ENV":
        pairs = list(zip(command.value[0::2], command.value[1::2], strict=False))
        return [_var(name, raw, True, scope, escape, line) for name, raw in pairs]
    declared = []
    for word in command.value:
        name, has_value, raw = word.partition("=")
        if has_value:
            declared.append(_var(name, raw, True, scope, escape, line))
        else:
            inherited = globals_.get(name)
            var = _var(name, inherited or "", False, {}, escape, line)
            var["resolved"] = inherited is not None
            declared.append(var)
    return declared


def _var(name: str, raw: str, has_value: bool, scope: Env, escape: str, line: int) -> Var:
    value, resolved = expand(raw, scope, escape)
    return {
        "name": name,
        "raw": raw,
        "value": value,
        "has_value": has_value,
        "resolved": resolved,
        "line": line,
    }


def _flags(
    raw_flags: tuple[str, ...], scope: Env, escape: str
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """``--name=value`` flags (``--link`` alone is "true"); each ``--mount`` as an object."""
    flags: dict[str, str] = {}
    mounts: list[dict[str, str]] = []
    for flag in raw_flags:
        name, has_value, raw = flag.removeprefix("--").partition("=")
        value = expand(raw, scope, escape)[0] if has_value else "true"
        if name == "mount":
            fields = (part.partition("=") for part in value.split(",") if part)
            mounts.append({key: (val if sep else "true") for key, sep, val in fields})
        else:
            flags[name] = value
    return flags, mounts
