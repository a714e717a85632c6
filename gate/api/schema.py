"""The API's OpenAPI document (``gate/api/openapi.json``) and request validation against it.

The document is checked in and served as-is at ``/openapi.json``; requests are validated
against its own component schemas, so what is documented is what is enforced.
:func:`validate` returns the body or raises :class:`InvalidBody` (HTTP 400) listing
every problem with its JSON pointer.

    >>> validate("AttestRequest", {"image": "gcr.io/p/app", "attestor": "prod"})
    Traceback (most recent call last):
    ...
    gate.api.schema.InvalidBody: the request body does not match AttestRequest
    >>> try:
    ...     validate("AttestRequest", {"image": "gcr.io/p/app", "attestor": "prod"})
    ... except InvalidBody as exc:
    ...     exc.problems[0]["path"]
    '/attestor'
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema

from gate.errors import GateError

MAX_PROBLEMS = 10


class InvalidBody(GateError):
    kind = "request"

    def __init__(self, message: str, *, hint: str = "", problems: list[dict[str, str]]) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (parsed once; callers must not change it)."""
    text = resources.files("gate.api").joinpath("openapi.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(name: str) -> Any:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    return jsonschema.Draft202012Validator(schema)


def validate(name: str, body: Any) -> dict[str, Any]:
    """``body`` if it matches component schema ``name``; InvalidBody otherwise."""
    errors = sorted(
        _validator(name).iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if not errors:
        assert isinstance(body, dict)
        return body
    problems = [
        {"path": _pointer(list(error.absolute_path)), "message": _message(error)}
        for error in errors[:MAX_PROBLEMS]
    ]
    fields = ", ".join(document()["components"]["schemas"][name].get("properties", {}))
    raise InvalidBody(
        f"the request body does not match {name}",
        hint=f"send a JSON object with {fields} (see /openapi.json)",
        problems=problems,
    )


def _pointer(path: list[Any]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _message(error: Any) -> str:
    """jsonschema's message, without echoing a long value back."""
    text = str(error.message)
    return text if len(text) <= 300 else text[:297] + "..."
