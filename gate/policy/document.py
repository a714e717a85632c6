"""The input document: what every entry point builds and every image policy reads.

:func:`build_document` assembles it from the image reference (the schema's ``reference``
object, as ``ImageRef.to_input()`` returns it), the facts gate learned and, at admission,
the workload. The schema is ``gate/schema/input.schema.json``, documented in
docs/input.md. :func:`validate_document` checks a document against it; it needs the
``jsonschema`` package, a development dependency, so it is meant for tests and debugging,
never for a request path.

    >>> ref = {"original": "nginx", "registry": "docker.io", "repository": "library/nginx",
    ...        "name": "docker.io/library/nginx", "tag": "latest", "digest": None,
    ...        "normalized": "docker.io/library/nginx:latest"}
    >>> doc = build_document(ref, entry_point="eval",
    ...                      now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    >>> doc["evaluated_at"], doc["image"]["platforms"], doc["image"]["vulnerabilities"]
    ('2026-01-02T03:04:05Z', [], None)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from gate.errors import ConfigError, InputError
from gate.facts.interface import ImageFacts, copy_json
from gate.facts.scans.interface import ScanResult

SCHEMA_VERSION = "gate.input/v1"
ENTRY_POINTS = ("admission", "attest", "eval", "api")
REFERENCE_KEYS = ("original", "registry", "repository", "name", "tag", "digest", "normalized")
MAX_REPORTED_ERRORS = 10


def build_document(
    reference: Mapping[str, Any],
    *,
    entry_point: str,
    facts: ImageFacts | None = None,
    scan: ScanResult | None = None,
    workload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    image_facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An input document (schema ``gate.input/v1``) for one image.

    ``scan``, when given, replaces ``facts.vulnerabilities``. ``image_facts``, when
    given, replaces both: the image's parts from its facts as an engine prepared them
    (``Engine.image_facts``). ``workload`` is for the admission entry point only. ``now``
    must be timezone-aware (default: the current time); ``evaluated_at`` is it in UTC, to
    the second. ``ValueError`` on a misuse (unknown entry point, incomplete reference,
    naive ``now``, workload outside admission).
    """
    if entry_point not in ENTRY_POINTS:
        raise ValueError(f"entry_point must be one of {', '.join(ENTRY_POINTS)}: {entry_point!r}")
    if workload is not None and entry_point != "admission":
        raise ValueError(f"a workload is only given at admission, not at {entry_point!r}")
    if image_facts is None:
        image_facts = facts_input(facts or ImageFacts(), scan)
    return {
        "schema_version": SCHEMA_VERSION,
        "entry_point": entry_point,
        "evaluated_at": format_time(now if now is not None else datetime.now(UTC)),
        "image": {"reference": _reference(reference), **image_facts},
        "workload": None if workload is None else copy_json(workload),
    }


def facts_input(facts: ImageFacts, scan: ScanResult | None = None) -> dict[str, Any]:
    """The image's parts of the input document that come from ``facts`` (``scan``, when
    given, replaces ``facts.vulnerabilities``), as new objects."""
    vulnerabilities = scan if scan is not None else facts.vulnerabilities
    return {
        "platforms": [platform.to_input() for platform in facts.platforms],
        "vulnerabilities": None if vulnerabilities is None else vulnerabilities.to_input(),
        "attestations": [copy_json(a) for a in facts.attestations],
        "provenance": [copy_json(p) for p in facts.provenance],
        "signatures": [copy_json(s) for s in facts.signatures],
        "unverified": [copy_json(u) for u in facts.unverified],
    }


def format_time(when: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; ``ValueError`` for a naive datetime."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required (e.g. datetime.now(UTC))")
    t = when.astimezone(UTC)  # strftime costs several times these fields
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _reference(reference: Mapping[str, Any]) -> dict[str, Any]:
    missing = [key for key in REFERENCE_KEYS if key not in reference]
    if missing:
        raise ValueError(
            f"the image reference lacks {', '.join(missing)} (use ImageRef.to_input())"
        )
    return {key: reference[key] for key in REFERENCE_KEYS}


@cache
def _schema_text() -> str:
    return resources.files("gate").joinpath("schema/input.schema.json").read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """The input document's JSON Schema (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def validate_document(doc: Mapping[str, Any]) -> None:
    """Check ``doc`` against the JSON Schema; :class:`InputError` listing what is wrong.

    Test and debug helper: imports ``jsonschema`` (a development dependency) lazily and
    raises :class:`ConfigError` when it is not installed.
    """
    try:
        import jsonschema
    except ImportError as exc:
        raise ConfigError(
            "validating an input document needs the jsonschema package",
            hint="install the development requirements: pip install -r requirements-dev.txt",
        ) from exc
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = [f"{_path(e.absolute_path)}: {e.message}" for e in errors[:MAX_REPORTED_ERRORS]]
    more = len(errors) - len(lines)
    if more > 0:
        lines.append(f"… and {more} more")
    raise InputError(
        "the input document does not match schema gate.input/v1:\n  " + "\n  ".join(lines),
        hint="build documents with gate.policy.document.build_document; see docs/input.md",
    )


def _path(parts: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path.lstrip(".") or "(document)"
