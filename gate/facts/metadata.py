"""Image facts from a file: a raw OCI/Docker image config or a gate metadata document.

Used by ``gate eval`` for local testing (on the signing path gate fetches its own
facts). :func:`config_facts` is shared with the registry client: it maps an image config
to the input schema's ``config`` object. The metadata format is in docs/input.md.

    >>> facts = config_facts({"created": "2016-09-23T23:20:45.78976459+02:00",
    ...     "config": {"User": "", "Env": ["A=b=c"], "ExposedPorts": {"80/tcp": {}}}})
    >>> facts["user"], facts["env"], facts["created"], facts["exposed_ports"]
    ('', {'A': 'b=c'}, '2016-09-23T21:20:45.78976459Z', ['80/tcp'])
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.facts import (
    ShapeError,
    arr,
    flag,
    obj,
    only_keys,
    opt_text,
    parse_json,
    read_bytes,
    string_map,
    text,
)
from gate.facts.interface import ImageFacts, Platform
from gate.facts.scans.interface import ScanResult

HINT = "see docs/input.md: an image config JSON or a gate metadata document"
DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_PLATFORM_KEYS = {"os", "architecture", "variant", "manifest_digest", "media_type", "config"}
_EVIDENCE_KEYS = {
    "provenance": {
        "predicate_type",
        "builder_id",
        "build_type",
        "source",
        "subjects",
        "origin",
        "verified_by",
    },
    "signatures": {"kind", "digest", "origin", "verified_by"},
    "unverified": {"kind", "origin", "reason"},
}


def load_metadata(path: str | Path) -> ImageFacts:
    """Read an image config or a gate metadata document; :class:`InputError` on any defect."""
    try:
        doc = parse_json(read_bytes(path))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", hint=HINT) from exc
    except ValueError as exc:
        raise InputError(f"{path}: {exc}", hint=HINT) from exc
    return parse_metadata(doc, origin=str(path))


def parse_metadata(doc: Any, *, origin: str = "metadata") -> ImageFacts:
    """:func:`load_metadata` for an already decoded document."""
    try:
        return _facts(obj(doc, "the document"))
    except ShapeError as exc:
        raise InputError(f"{origin}: {exc}", hint=HINT) from exc


def config_facts(oci_config: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's ``config`` object for an OCI/Docker image config; InputError if malformed."""
    try:
        return _config(oci_config, "image config")
    except ShapeError as exc:
        raise InputError(str(exc), hint="the image config must follow the OCI spec") from exc


def normalize_time(value: Any) -> str | None:
    """An RFC 3339 time in UTC ending in ``Z`` (fraction kept, at most 9 digits), or None."""
    match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or int(match[11] or 0) > 59:
        return None
    sign = -1 if match[9] == "-" else 1
    offset = timedelta(hours=int(match[10] or 0), minutes=int(match[11] or 0)) * sign
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        when = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
        when = when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    fraction = (match[7] or "")[:10]
    return when.replace(tzinfo=None).isoformat(timespec="seconds") + fraction + "Z"


def _facts(doc: dict[str, Any]) -> ImageFacts:
    if "platforms" in doc:
        return _metadata_document(doc)
    if {"layers", "manifests", "schemaVersion", "mediaType"} & set(doc):
        raise ShapeError("this is an image manifest or index, not an image config")
    if not {"config", "architecture", "os", "rootfs"} & set(doc):
        raise ShapeError("neither an image config (config/architecture/os) nor has 'platforms'")
    return ImageFacts(platforms=(_platform({"config": doc}, "the document"),))


def _metadata_document(doc: dict[str, Any]) -> ImageFacts:
    only_keys(
        doc, {"platforms", "vulnerabilities", "attestations", *_EVIDENCE_KEYS}, "the document"
    )
    platforms = arr(doc["platforms"], "platforms")
    vulnerabilities = doc.get("vulnerabilities")
    attestations = arr(doc.get("attestations"), "attestations", nullable=True)
    return ImageFacts(
        platforms=tuple(_platform(p, f"platforms[{i}]") for i, p in enumerate(platforms)),
        vulnerabilities=None if vulnerabilities is None else ScanResult.from_input(vulnerabilities),
        attestations=tuple(
            _attestation(a, f"attestations[{i}]") for i, a in enumerate(attestations)
        ),
        provenance=_evidence(doc, "provenance"),
        signatures=_evidence(doc, "signatures"),
        unverified=_evidence(doc, "unverified"),
    )


def _evidence(doc: dict[str, Any], key: str) -> tuple[dict[str, Any], ...]:
    """Supply-chain evidence as the input schema has it (for local testing: gate does not
    verify what a file says); every field of each item required."""
    items = []
    for i, raw in enumerate(arr(doc.get(key), key, nullable=True)):
        item = obj(raw, f"{key}[{i}]")
        only_keys(item, _EVIDENCE_KEYS[key], f"{key}[{i}]")
        missing = sorted(_EVIDENCE_KEYS[key] - set(item))
        if missing:
            raise ShapeError(f"{key}[{i}]: missing field(s) {', '.join(missing)}")
        items.append(copy.deepcopy(item))
    return tuple(items)


def _platform(raw: Any, where: str) -> Platform:
    item = obj(raw, where)
    only_keys(item, _PLATFORM_KEYS, where)
    config = obj(item.get("config"), f"{where}.config")
    digest = opt_text(item.get("manifest_digest"), f"{where}.manifest_digest")
    if digest is not None and not DIGEST.fullmatch(digest):
        raise ShapeError(f"{where}.manifest_digest: expected sha256:<64 hex>, got {digest!r}")

    def field(name: str) -> str:
        value = item.get(name, config.get(name))
        return opt_text(value, f"{where}.{name}") or ""

    return Platform(
        os=field("os"),
        architecture=field("architecture"),
        variant=field("variant"),
        manifest_digest=digest,
        media_type=opt_text(item.get("media_type"), f"{where}.media_type"),
        config=_config(config, f"{where}.config"),
    )


def _attestation(raw: Any, where: str) -> dict[str, Any]:
    item = obj(raw, where)
    only_keys(item, {"attestor", "verified", "public_key_id"}, where)
    result: dict[str, Any] = {
        "attestor": text(item.get("attestor"), f"{where}.attestor"),
        "verified": flag(item.get("verified"), f"{where}.verified"),
    }
    if "public_key_id" in item:
        result["public_key_id"] = text(item["public_key_id"], f"{where}.public_key_id")
    return result


def _config(oci: Mapping[str, Any], where: str) -> dict[str, Any]:
    inner = obj(oci.get("config"), f"{where}.config", nullable=True)
    ports = obj(inner.get("ExposedPorts"), f"{where}.config.ExposedPorts", nullable=True)
    return {
        "user": opt_text(inner.get("User"), f"{where}.config.User") or "",
        "env": _env(arr(inner.get("Env"), f"{where}.config.Env", nullable=True), where),
        "labels": string_map(inner.get("Labels"), f"{where}.config.Labels"),
        "created": normalize_time(oci.get("created")),
        "history": [
            _history(h, f"{where}.history[{i}]")
            for i, h in enumerate(arr(oci.get("history"), f"{where}.history", nullable=True))
        ],
        "exposed_ports": sorted(ports),
        "entrypoint": _strings(inner.get("Entrypoint"), f"{where}.config.Entrypoint"),
        "cmd": _strings(inner.get("Cmd"), f"{where}.config.Cmd"),
        "working_dir": opt_text(inner.get("WorkingDir"), f"{where}.config.WorkingDir") or "",
    }


def _env(entries: list[Any], where: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for i, entry in enumerate(entries):
        name, _, value = text(entry, f"{where}.config.Env[{i}]").partition("=")
        env[name] = value
    return env


def _history(raw: Any, where: str) -> dict[str, Any]:
    item = obj(raw, where)
    empty = item.get("empty_layer")
    return {
        "created_by": opt_text(item.get("created_by"), f"{where}.created_by") or "",
        "created": normalize_time(item.get("created")),
        "empty_layer": False if empty is None else flag(empty, f"{where}.empty_layer"),
    }


def _strings(value: Any, where: str) -> list[str]:
    return [text(s, f"{where}[{i}]") for i, s in enumerate(arr(value, where, nullable=True))]
