"""What gate learns about an image, and strict helpers for reading the JSON it comes in.

Facts arrive as JSON files or registry blobs written by other tools. The helpers here read
such JSON and check each value's type, raising :class:`ShapeError` (a ``ValueError``)
that names the path of the bad value; each loader translates it at its boundary into
its own :class:`gate.errors.GateError` subclass with a hint.

    >>> doc = parse_json(b'{"Results": [{"Target": 3}]}')
    >>> text(doc["Results"][0]["Target"], "Results[0].Target")
    Traceback (most recent call last):
    ...
    gate.facts.ShapeError: Results[0].Target: expected a string, got a number (3)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest facts file gate reads (a large real scan report is a few tens of MB)."""


class ShapeError(ValueError):
    """A JSON value of the wrong type or shape; the message starts with its path."""


def read_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes; ``OSError`` if unreadable, :class:`ShapeError` if empty or too big."""
    file = Path(path)
    size = file.stat().st_size
    if size > max_bytes:
        raise ShapeError(f"file is {size} bytes, more than the {max_bytes} gate reads")
    data = file.read_bytes()
    if not data.strip():
        raise ShapeError("file is empty")
    return data


# A \uD800-\uDFFF escape: a surrogate, which is text only as the half of a pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(doc: Any) -> None:
    """ShapeError when a string of ``doc`` holds a lone surrogate (``"\\ud800"``): Python
    decodes one, but it is not Unicode text (UTF-8 cannot encode it, and Go's decoder, the
    API server's, replaces it), so every later step that writes the text out would fail."""
    try:
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        escape = f"\\u{ord(exc.object[exc.start]):04x}"
        raise ShapeError(f"a lone UTF-16 surrogate ({escape}) is not text") from exc


def _reject_constant(name: str) -> Any:
    raise ShapeError(f"{name} is not valid JSON (numbers must be finite)")


def parse_json(data: bytes | str) -> Any:
    """Decode strict JSON: ``ValueError`` with line and column on any defect.

    ``NaN``/``Infinity`` and lone surrogates are refused; a document nested too deeply is a
    ``ShapeError``.
    """
    try:
        # json.loads would decode bytes with "surrogatepass", letting encoded surrogates in
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
        doc = json.loads(text, parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(text):
            _check_unicode(doc)
        return doc
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if exc.pos >= len(exc.doc.rstrip()) else ""
        raise ShapeError(
            f"not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ShapeError(f"not valid JSON: not UTF-8 text ({exc.reason})") from exc
    except RecursionError as exc:
        raise ShapeError("not usable JSON: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ShapeError(f"not usable JSON: {exc}") from exc


def describe(value: Any) -> str:
    """A short description of a JSON value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _wrong(where: str, expected: str, value: Any) -> ShapeError:
    return ShapeError(f"{where}: expected {expected}, got {describe(value)}")


def obj(value: Any, where: str, *, nullable: bool = False) -> dict[str, Any]:
    """``value`` if it is a JSON object (``{}`` for null when ``nullable``)."""
    if value is None and nullable:
        return {}
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    return value


def arr(value: Any, where: str, *, nullable: bool = False) -> list[Any]:
    """``value`` if it is a JSON list (``[]`` for null when ``nullable``)."""
    if value is None and nullable:
        return []
    if not isinstance(value, list):
        raise _wrong(where, "a list", value)
    return value


def text(value: Any, where: str) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise _wrong(where, "a string", value)
    return value


def opt_text(value: Any, where: str) -> str | None:
    """``value`` if it is a string, ``None`` for null."""
    return None if value is None else text(value, where)


def number(value: Any, where: str) -> float | None:
    """``value`` as a float if it is a number, ``None`` for null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, "a number", value)
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ShapeError(f"{where}: expected a finite number, got {value!r}")
    return result


def flag(value: Any, where: str) -> bool:
    """``value`` if it is a boolean."""
    if not isinstance(value, bool):
        raise _wrong(where, "a boolean", value)
    return value


def string_map(value: Any, where: str) -> dict[str, str]:
    """A JSON object of strings (``{}`` for null)."""
    if value is None:
        return {}
    return {key: text(item, f"{where}.{key}") for key, item in obj(value, where).items()}


def only_keys(value: dict[str, Any], allowed: set[str], where: str) -> None:
    """Refuse keys outside ``allowed`` (catches typos in hand-written files)."""
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ShapeError(f"{where}: unknown field(s) {', '.join(unknown)}")
