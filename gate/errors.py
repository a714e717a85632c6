"""Errors that gate reports to people.

Every error carries a ``hint``: one sentence on what to check or do next. Boundaries
(registries, engines, scanners, signers) translate library exceptions into a subclass
here with ``raise ... from exc`` so callers handle one family.

    >>> err = InvalidReference("bad digest", hint="use sha256:<64 hex>")
    >>> str(err)
    'bad digest'
"""

from __future__ import annotations


class GateError(Exception):
    """Base of every error gate raises on purpose."""

    kind = "error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message, "hint": self.hint}


class InvalidReference(GateError):
    """An image reference that does not follow the Docker reference grammar."""

    kind = "reference"


class InputError(GateError):
    """A file given to gate (metadata, scan report, data) that cannot be used."""

    kind = "input"


class ConfigError(GateError):
    """A setting that is missing or inconsistent."""

    kind = "config"


class InternalError(GateError):
    """A bug: an exception gate did not expect. It denies and exits 2, like any error."""

    kind = "internal"
