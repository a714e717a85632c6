"""The ``.dockerignore`` that applies to a Dockerfile, as patterns with their regular expressions.

BuildKit reads ``<Dockerfile name>.dockerignore`` beside the Dockerfile when there is one,
else ``.dockerignore`` at the root of the build context (taken here to be the
Dockerfile's folder). Each pattern is cleaned the way Docker cleans it and translated
into the regular expression Docker's pattern matcher builds (``*`` within one path
segment, ``**`` across segments, ``!`` re-includes), so the policies can ask "is this
path excluded?" with ``regex.match`` on either engine.

    >>> pattern("**/*.pem", 3)["regex"]
    '^(.*/)?[^/]*\\\\.pem$'
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from gate.errors import InputError
from gate.lint.document import DockerIgnore, IgnorePattern

MAX_BYTES = 1024 * 1024
_ESCAPED = set(".+()|{}$^")


def find(dockerfile: Path) -> Path | None:
    """The ignore file BuildKit would use for ``dockerfile``, or None when there is none."""
    for candidate in (
        dockerfile.with_name(dockerfile.name + ".dockerignore"),
        dockerfile.with_name(".dockerignore"),
    ):
        if candidate.is_file():
            return candidate
    return None


def read(dockerfile: Path) -> DockerIgnore | None:
    """The patterns of the ignore file beside ``dockerfile``; None when it has none."""
    path = find(dockerfile)
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path} is larger than {MAX_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="is it a text file?") from exc
    return parse(text, str(path))


def parse(text: str, file: str = ".dockerignore") -> DockerIgnore:
    patterns = [
        pattern(line.strip(), number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    return {"file": file, "patterns": [p for p in patterns if p["pattern"]]}


def pattern(text: str, line: int) -> IgnorePattern:
    """One cleaned pattern: ``!`` marks a re-include; a leading ``/`` is dropped."""
    exclude = not text.startswith("!")
    body = text if exclude else text[1:].strip()
    cleaned = posixpath.normpath(body).lstrip("/") if body else ""
    if cleaned == ".":
        cleaned = ""
    return {"pattern": cleaned, "exclude": exclude, "regex": to_regex(cleaned), "line": line}


def to_regex(cleaned: str) -> str:
    """Docker's pattern matcher (moby/patternmatcher) translation of one cleaned pattern."""
    out = ["^"]
    i = 0
    while i < len(cleaned):
        ch = cleaned[i]
        if ch == "*" and cleaned.startswith("**", i):
            i += 2
            if cleaned.startswith("/", i):
                i += 1
            out.append(".*" if i >= len(cleaned) else "(.*/)?")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(cleaned):
            i += 1
            out.append(cleaned[i] if cleaned[i].isalnum() else "\\" + cleaned[i])
        elif ch in _ESCAPED:
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    out.append("$")
    return "".join(out)
