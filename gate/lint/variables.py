"""Docker's word processing: quote removal and ``$VAR`` substitution, where values are known.

BuildKit expands build arguments and environment variables in ``FROM``, ``COPY``,
``ADD``, ``ENV``, ``ARG``, ``USER``, ``WORKDIR`` and a few more. A lint cannot know a
``--build-arg`` given at build time, so a variable is known only when the Dockerfile
gives it a value (an ``ARG`` default or an ``ENV``); anything else stays as written and
the word is marked unresolved.

    >>> expand('"${BASE:-python}:$TAG"', {"BASE": None, "TAG": "3.12"})
    ('python:3.12', True)
    >>> expand("$UID", {"UID": None})
    ('$UID', False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A variable's value: a string when known, None when declared without a value.
Env = Mapping[str, "str | None"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODIFIER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(:?[-+?])?(.*)$", re.DOTALL)


def expand(word: str, env: Env, escape: str = "\\") -> tuple[str, bool]:
    """The word as BuildKit would see it, and whether every variable in it was known."""
    out: list[str] = []
    resolved = True
    quote = ""
    i = 0
    while i < len(word):
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
            i += 1
        elif ch == escape and i + 1 < len(word):
            following = word[i + 1]
            if quote == '"' and following not in ('"', "$", escape):
                out.append(ch)
            out.append(following)
            i += 2
        elif ch == '"' or (ch == "'" and not quote):
            quote = "" if quote == ch else ch
            i += 1
        elif ch == "$":
            text, known, i = _variable(word, i, env, escape)
            out.append(text)
            resolved = resolved and known
        else:
            out.append(ch)
            i += 1
    return "".join(out), resolved


def _variable(word: str, start: int, env: Env, escape: str) -> tuple[str, bool, int]:
    """Expand the variable at ``word[start] == "$"``; returns text, known, next index."""
    if word.startswith("${", start):
        end = _closing_brace(word, start + 2)
        if end < 0:
            return word[start:], False, len(word)
        text, known = _braced(word[start + 2 : end], env, escape)
        return (text if known else word[start : end + 1]), known, end + 1
    match = _NAME.match(word, start + 1)
    if not match:
        return "$", True, start + 1
    value = env.get(match.group(0))
    if value is None:
        return "$" + match.group(0), False, match.end()
    return value, True, match.end()


def _closing_brace(word: str, start: int) -> int:
    depth = 1
    for i in range(start, len(word)):
        if word.startswith("${", i):
            depth += 1
        elif word[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _braced(body: str, env: Env, escape: str) -> tuple[str, bool]:
    """``NAME``, ``NAME:-word``, ``NAME-word``, ``NAME:+word``, ``NAME+word``, ``NAME:?msg``."""
    match = _MODIFIER.match(body)
    if not match:
        return "", False
    name, modifier, rest = match.group(1), match.group(2) or "", match.group(3)
    if not modifier:
        value = env.get(name)
        return (value, True) if value is not None and not rest else ("", False)
    value = env.get(name)
    declared = name in env
    set_and_non_empty = value is not None and (value != "" or ":" not in modifier)
    if modifier.endswith("-"):
        if set_and_non_empty:
            return str(value), True
        if declared:  # an ARG without a default: unset unless --build-arg gives it
            return expand(rest, env, escape)
        return "", False
    if modifier.endswith("+"):
        if set_and_non_empty:
            return expand(rest, env, escape)
        return ("", True) if declared and value is not None else ("", False)
    # "?": the build fails when unset; its value when set.
    return (str(value), True) if set_and_non_empty else ("", False)
