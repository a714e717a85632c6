"""An image's platform facts, fetched from its registry: the input schema's ``platforms``.

:func:`fetch_platforms` resolves the reference to a digest, reads the manifest or index,
follows an index to each selected platform's manifest (entries no runtime would run
skipped, see :func:`gate.facts.registry.manifest.is_image_entry`) and maps each config
with :func:`gate.facts.metadata.config_facts`.

    >>> from gate.facts.registry import ClientOptions, RegistryClient, TransportOptions
    >>> from gate.reference import parse_reference
    >>> client = RegistryClient(ClientOptions(approved=("127.0.0.1:5000/**",),
    ...     transport=TransportOptions(insecure_hosts=("127.0.0.1:5000",))))
    >>> facts = fetch_platforms(client, parse_reference("127.0.0.1:5000/app:1"),
    ...                         Deadline.after(10), platforms=["linux/arm64"])  # doctest: +SKIP
    >>> facts.digest, facts.to_input()[0]["config"]["user"]  # doctest: +SKIP
    ('sha256:…', 'root')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gate.errors import InputError
from gate.facts.interface import Platform as PlatformFacts
from gate.facts.metadata import config_facts
from gate.facts.registry.budget import ConfigBudget, TooLarge, check_index_images
from gate.facts.registry.interface import (
    Deadline,
    Descriptor,
    Manifest,
    Platform,
    RegistryError,
    RegistryReader,
)
from gate.facts.registry.manifest import INDEX_TYPES, UNKNOWN, select_entries
from gate.reference import ImageRef

CONFIG_TYPES = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)


@dataclass(frozen=True)
class RegistryFacts:
    """What the registry says about an image: its digest and one entry per platform."""

    reference: ImageRef  # pinned to ``digest``
    digest: str
    media_type: str
    platforms: tuple[PlatformFacts, ...]
    errors: tuple[RegistryError, ...] = ()  # index platforms that could not be read

    def to_input(self) -> list[dict[str, Any]]:
        """The input document's ``image.platforms`` list."""
        return [platform.to_input() for platform in self.platforms]


def fetch_platforms(
    client: RegistryReader,
    ref: ImageRef,
    deadline: Deadline,
    platforms: Iterable[str | Platform] | None = None,
) -> RegistryFacts:
    """Facts for every selected platform of ``ref`` (``platforms`` None: all of them)."""
    wanted = None if platforms is None else [_platform(p) for p in platforms]
    digest = client.resolve(ref, deadline)
    pinned = ref.with_digest(digest)
    top = client.manifest(pinned, digest, deadline)
    if not top.is_index:
        found = [_image(client, pinned, top, None, deadline)]
        found = [f for f in found if wanted is None or _selected(f, wanted)]
    else:
        images = select_entries(top, wanted)
        check_index_images(pinned, top, images)
        found, errors = _entries(ConfigBudget(client), pinned, images, deadline)
        if errors and not found:
            raise errors[0]
        if errors:
            return RegistryFacts(pinned, digest, top.media_type, tuple(found), tuple(errors))
    if not found:
        raise RegistryError.for_ref(
            pinned,
            f"no image for platform(s) {', '.join(map(str, wanted or []))}",
            "check the platform selection against the image's platforms",
        )
    return RegistryFacts(pinned, digest, top.media_type, tuple(found))


def _entries(
    client: RegistryReader, ref: ImageRef, entries: Iterable[Descriptor], deadline: Deadline
) -> tuple[list[PlatformFacts], list[RegistryError]]:
    """Each index entry's facts; one platform that cannot be read does not hide the others
    (its error is kept, and any error denies)."""
    found: list[PlatformFacts] = []
    errors: list[RegistryError] = []
    for entry in entries:
        try:
            facts = _entry(client, ref, entry, deadline)
        except RegistryError as exc:
            errors.append(exc)
            if isinstance(exc, TooLarge):
                break
            continue
        if facts is not None:  # None: an artifact no runtime selects
            found.append(facts)
    return found, errors


def _platform(value: str | Platform) -> Platform:
    return value if isinstance(value, Platform) else Platform.parse(value)


def _selected(facts: PlatformFacts, wanted: list[Platform]) -> bool:
    return any(
        (w.os, w.architecture) == (facts.os, facts.architecture)
        and w.variant in ("", facts.variant)
        for w in wanted
    )


def _entry(
    client: RegistryReader, ref: ImageRef, entry: Descriptor, deadline: Deadline
) -> PlatformFacts | None:
    """The facts of an index entry; None for an artifact no runtime would select."""
    if entry.media_type in INDEX_TYPES:
        raise RegistryError.for_ref(
            ref,
            f"index entry {entry.digest} is itself an index",
            "nested indexes are not supported: push a flat multi-platform index",
        )
    manifest = client.manifest(ref, entry.digest, deadline)
    if manifest.is_index:
        raise RegistryError.for_ref(
            ref, f"index entry {entry.digest} declared as an image is an index"
        )
    if entry.platform is None and not _names_a_platform(client, ref, manifest, deadline):
        return None
    return _image(client, ref, manifest, entry.platform, deadline)


def _names_a_platform(
    client: RegistryReader, ref: ImageRef, manifest: Manifest, deadline: Deadline
) -> bool:
    """Whether a runtime could select an index entry without a platform.

    containerd then reads the platform from the config blob, whatever its media type:
    an image config always counts (it is judged, or refused if broken); any other
    config counts when it names an OS and an architecture. An OCI artifact's empty
    config ``{}`` names none, so no runtime runs it.
    """
    config = manifest.config
    if config is None or config.media_type in CONFIG_TYPES:
        return True
    raw = client.config(ref, config, deadline)
    if not isinstance(raw, dict):
        return False
    fields = (raw.get("os"), raw.get("architecture"))
    return all(isinstance(f, str) and f not in ("", UNKNOWN) for f in fields)


def _image(
    client: RegistryReader,
    ref: ImageRef,
    manifest: Manifest,
    declared: Platform | None,
    deadline: Deadline,
) -> PlatformFacts:
    config = manifest.config
    if config is None or config.media_type not in CONFIG_TYPES:
        kind = config.media_type if config else "none"
        raise RegistryError.for_ref(
            ref,
            f"manifest {manifest.digest} is not a container image (config {kind})",
            "gate evaluates container images; check the reference",
        )
    raw = client.config(ref, config, deadline)
    if not isinstance(raw, dict):
        raise RegistryError.for_ref(ref, f"config {config.digest} is not a JSON object")
    try:
        mapped = config_facts(raw)
    except InputError as exc:
        raise RegistryError.for_ref(
            ref, f"config {config.digest}: {exc.message}", exc.hint
        ) from exc
    os_, arch = str(raw.get("os", "")), str(raw.get("architecture", ""))
    if declared is not None and (declared.os, declared.architecture) != (os_, arch):
        raise RegistryError.for_ref(
            ref,
            f"index says {declared} for {manifest.digest} but its config says {os_}/{arch}",
            "the image is inconsistent; rebuild and re-push it",
        )
    variant = declared.variant if declared is not None else str(raw.get("variant") or "")
    return PlatformFacts(
        os=os_,
        architecture=arch,
        variant=variant,
        manifest_digest=manifest.digest,
        media_type=manifest.media_type,
        config=mapped,
    )
