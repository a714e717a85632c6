"""Manifest and index documents: media types, parsing, and which index entries are images.

Parsing takes bytes already checked against their digest. Docker schema 1 manifests are
refused (unsigned by digest, deprecated, no config blob). In an index, an entry is
skipped only when no runtime would run it: a media type that is not an image manifest,
or a platform whose OS or architecture is ``unknown`` (BuildKit's attestation
manifests). ``artifactType`` and annotations are the pusher's word and decide nothing:
containerd picks an entry by its platform alone.

    >>> doc = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",'
    >>> doc += b' "manifests": []}'
    >>> parse_manifest(doc, "", "sha256:" + "0" * 64, "r", "a").is_index
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gate.facts import ShapeError, arr, obj, opt_text, parse_json, string_map, text
from gate.facts.registry.interface import Descriptor, Manifest, Platform, RegistryError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
UNKNOWN = "unknown"  # BuildKit's attestation manifests are unknown/unknown

_SCHEMA1_HINT = (
    "Docker schema 1 manifests are deprecated and not content-addressable: re-push the "
    "image with a current Docker or buildx (schema 2 or OCI)"
)


def parse_manifest(
    data: bytes, content_type: str, digest: str, registry: str, repository: str
) -> Manifest:
    """A :class:`Manifest` from verified bytes; RegistryError for schema 1 or bad shapes."""
    where = f"{registry}/{repository}@{digest}"
    try:
        doc = obj(parse_json(data), "manifest")
        media_type = _media_type(doc, content_type.split(";")[0].strip(), where)
        if media_type in INDEX_TYPES:
            entries = arr(doc.get("manifests"), "manifests")
            manifests = tuple(_descriptor(e, f"manifests[{i}]") for i, e in enumerate(entries))
            return Manifest(digest, media_type, len(data), manifests=manifests, is_index=True)
        config = _descriptor(doc.get("config"), "config")
        layers = tuple(
            _descriptor(layer, f"layers[{i}]")
            for i, layer in enumerate(arr(doc.get("layers"), "layers", nullable=True))
        )
        return Manifest(digest, media_type, len(data), config=config, layers=layers)
    except ShapeError as exc:
        raise RegistryError(
            f"{where}: not a usable manifest: {exc}",
            hint="the registry served something that is not an OCI/Docker manifest",
            registry=registry,
            repository=repository,
        ) from exc


def _media_type(doc: dict[str, Any], content_type: str, where: str) -> str:
    declared = opt_text(doc.get("mediaType"), "mediaType")
    if doc.get("schemaVersion") == 1 or (declared or content_type) in (DOCKER_V1, DOCKER_V1_SIGNED):
        raise RegistryError(f"{where}: Docker schema 1 manifest refused", hint=_SCHEMA1_HINT)
    if doc.get("schemaVersion") != 2:
        raise ShapeError(f"schemaVersion is {doc.get('schemaVersion')!r}, expected 2")
    if declared is None:  # OCI allows an absent mediaType: tell by shape
        declared = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if declared not in IMAGE_TYPES + INDEX_TYPES:
        raise ShapeError(f"unsupported mediaType {declared!r}")
    return declared


def _descriptor(raw: Any, where: str) -> Descriptor:
    item = obj(raw, where)
    size = item.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ShapeError(f"{where}.size: expected a non-negative integer")
    platform = None
    if item.get("platform") is not None:
        raw_platform = obj(item["platform"], f"{where}.platform")
        platform = Platform(
            text(raw_platform.get("os"), f"{where}.platform.os"),
            text(raw_platform.get("architecture"), f"{where}.platform.architecture"),
            opt_text(raw_platform.get("variant"), f"{where}.platform.variant") or "",
        )
    annotations = string_map(item.get("annotations"), f"{where}.annotations")
    return Descriptor(
        media_type=text(item.get("mediaType"), f"{where}.mediaType"),
        digest=text(item.get("digest"), f"{where}.digest"),
        size=size,
        platform=platform,
        artifact_type=opt_text(item.get("artifactType"), f"{where}.artifactType"),
        annotations=tuple(sorted(annotations.items())),
    )


def is_image_entry(entry: Descriptor) -> bool:
    """Whether a runtime could run an index entry, so gate must judge it.

    containerd (core/images ``Manifest``) chooses an entry by its platform alone, or
    for an entry without one by its config's platform, and lists no platform whose OS
    or architecture is ``unknown``; ``artifactType`` and annotations play no part, so
    they cannot hide an image from gate either.
    """
    if entry.media_type not in IMAGE_TYPES + INDEX_TYPES:
        return False
    platform = entry.platform
    return platform is None or UNKNOWN not in (platform.os, platform.architecture)


def select_entries(index: Manifest, wanted: Iterable[Platform] | None) -> list[Descriptor]:
    """The index's image entries, limited to ``wanted`` platforms (None: all)."""
    images = [entry for entry in index.manifests if is_image_entry(entry)]
    if wanted is None:
        return images
    chosen = set(wanted)
    return [entry for entry in images if entry.platform in chosen or _loose(entry, chosen)]


def _loose(entry: Descriptor, chosen: set[Platform]) -> bool:
    """``linux/arm64`` also selects ``linux/arm64/v8`` (the variant is often implied)."""
    if entry.platform is None or not entry.platform.variant:
        return False
    return Platform(entry.platform.os, entry.platform.architecture) in chosen
