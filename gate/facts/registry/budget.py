"""What one image may make gate read: its index's images, and its configs' bytes in all.

Each config is bounded on its own (``MAX_CONFIG_BYTES``); a multi-platform image is
bounded too, or an index of many platforms with configs near that limit (a label of
megabytes each) would have gate read and hold hundreds of megabytes for one image within
its time budget. :class:`ConfigBudget` wraps a :class:`~.interface.RegistryReader` for one
image and charges each config's declared size (the client checks that the bytes it reads
match it) before reading it.

    >>> from gate.facts.registry.interface import Descriptor
    >>> from gate.reference import parse_reference
    >>> budget = ConfigBudget(None, limit=10)  # type: ignore[arg-type]
    >>> budget.charge(parse_reference("gcr.io/p/app"), Descriptor("t", "sha256:1", 20))
    Traceback (most recent call last):
    gate.facts.registry.budget.ConfigsTooLarge: gcr.io/p/app: the image's configs are more ...
"""

from __future__ import annotations

from typing import Any

from gate.facts.registry.interface import (
    Deadline,
    Descriptor,
    Manifest,
    RegistryError,
    RegistryReader,
)
from gate.facts.registry.verify import MAX_IMAGE_CONFIG_BYTES, MAX_INDEX_IMAGES
from gate.reference import ImageRef

_HINT = (
    "real multi-platform images have a dozen platforms of small configs: the image is "
    "broken or hostile; rebuild it with fewer platforms or smaller labels and environment"
)


class ConfigsTooLarge(RegistryError):
    """One image's configs, all platforms together, are past what gate reads for it."""


class ConfigBudget:
    """A :class:`RegistryReader` for one image that reads at most ``limit`` bytes of configs."""

    def __init__(self, reader: RegistryReader, limit: int = MAX_IMAGE_CONFIG_BYTES) -> None:
        self.reader, self.limit, self.left = reader, limit, limit

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str:
        return self.reader.resolve(ref, deadline)

    def manifest(self, ref: ImageRef, digest: str, deadline: Deadline) -> Manifest:
        return self.reader.manifest(ref, digest, deadline)

    def config(self, ref: ImageRef, descriptor: Descriptor, deadline: Deadline) -> Any:
        self.charge(ref, descriptor)
        return self.reader.config(ref, descriptor, deadline)

    def charge(self, ref: ImageRef, descriptor: Descriptor) -> None:
        if descriptor.size > self.left:
            self.left = 0
            raise ConfigsTooLarge.for_ref(
                ref,
                f"the image's configs are more than gate reads for one image ({self.limit} "
                f"bytes, all platforms together) at config {descriptor.digest}",
                _HINT,
            )
        self.left -= descriptor.size


def check_index_images(ref: ImageRef, index: Manifest, images: list[Descriptor]) -> None:
    """RegistryError when ``index`` lists more images than gate reads for one image."""
    if len(images) > MAX_INDEX_IMAGES:
        raise RegistryError.for_ref(
            ref,
            f"index {index.digest} lists {len(images)} images, more than gate reads for one "
            f"image ({MAX_INDEX_IMAGES})",
            _HINT,
        )
