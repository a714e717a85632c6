"""Parse a Dockerfile with BuildKit's own parser into the lint input document.

The ``dockerfile`` package wraps BuildKit's Go parser, so line continuations, comment
lines inside a continued ``RUN``, heredocs, JSON (exec) form and the escape directive
are read exactly as ``docker build`` reads them. This module adds what BuildKit works
out later: stages, ``ARG``/``ENV`` substitution where the value is known, flags,
the ``USER`` in effect, and the ``.dockerignore`` beside the file.

    >>> doc = parse_text("ARG V=3.12\\nFROM python:${V}-slim AS app\\nUSER 10001\\n")
    >>> doc["stages"][0]["base"]["image"]["tag"], doc["stages"][0]["user"]["value"]
    ('3.12-slim', '10001')
"""

from __future__ import annotations

import re
from pathlib import Path

from gate.errors import InputError
from gate.lint import dockerignore
from gate.lint.document import SCHEMA, DockerIgnore, LintInput, Var
from gate.lint.instructions import BuildKitError, Command, known_instructions, parse_string
from gate.lint.stages import StageBuilder

MAX_BYTES = 1024 * 1024
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_HINT = "gate lint reads Dockerfiles (FROM, RUN, COPY, ...); check the path"


def parse_file(path: Path) -> LintInput:
    """Read and parse one Dockerfile and the ``.dockerignore`` that applies to it."""
    try:
        if not path.is_file():
            raise InputError(f"{path}: not a file", hint=_HINT)
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: larger than {MAX_BYTES} bytes", hint=_HINT)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint=_HINT) from exc
    return parse_text(text, str(path), dockerignore.read(path))


def parse_text(
    text: str, file: str = "Dockerfile", ignore: DockerIgnore | None = None
) -> LintInput:
    """The lint input document of Dockerfile ``text`` (``file`` names it in findings)."""
    found = directives(text)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise InputError(f"{file}: invalid escape directive {escape!r}", hint="use \\ or `")
    try:
        commands = parse_string(text)
    except BuildKitError as exc:
        raise InputError(f"{file}: not a valid Dockerfile: {exc}", hint=_HINT) from exc
    _check(commands, file)
    builder = StageBuilder(escape)
    global_args: list[Var] = []
    for command in commands:
        if command.cmd.upper() == "FROM":
            builder.start_stage(command)
        elif builder.stages:
            builder.add(command)
        else:
            global_args.extend(builder.global_arg(command))
    return {
        "schema": SCHEMA,
        "file": file,
        "escape": escape,
        "directives": found,
        "args": global_args,
        "stages": builder.finish(),
        "dockerignore": ignore,
    }


def directives(text: str) -> dict[str, str]:
    """Parser directives (``# syntax=``, ``# escape=``, ``# check=``) at the top of the file.

    BuildKit stops looking at the first line that is not a directive: an instruction, an
    empty line or an ordinary comment.
    """
    found: dict[str, str] = {}
    for line in text.lstrip("\ufeff").splitlines():
        match = _DIRECTIVE.match(line.strip())
        if not match or match.group(1).lower() in found:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def _check(commands: tuple[Command, ...], file: str) -> None:
    """Refuse what BuildKit would refuse: unknown instructions, no FROM, RUN before FROM."""
    known = known_instructions()
    for command in commands:
        if command.cmd.lower() not in known:
            raise InputError(
                f"{file}:{command.start_line}: unknown instruction {command.cmd!r}", hint=_HINT
            )
    first_from = next((c for c in commands if c.cmd.upper() == "FROM"), None)
    if first_from is None:
        raise InputError(f"{file}: no FROM instruction", hint=_HINT)
    for command in commands:
        if command is first_from:
            break
        if command.cmd.upper() != "ARG":
            raise InputError(
                f"{file}:{command.start_line}: {command.cmd.upper()} before the first FROM",
                hint="only ARG may come before the first FROM",
            )
    for command in commands:
        if command.cmd.upper() == "FROM" and not command.value:
            raise InputError(f"{file}:{command.start_line}: FROM without an image", hint=_HINT)
