"""What one image may make gate read: its index's images, its configs' bytes in all, and its
signatures' and attestations' bytes in all.

Each config and each evidence blob is bounded on its own (``MAX_CONFIG_BYTES``, the
provenance reader's ``MAX_BLOB_BYTES``); an image is bounded too, or an index of many
platforms with configs near that limit (a label of megabytes each), or dozens of referrers
of large envelopes, would have gate read hundreds of megabytes for one image, for every
review of it, until its time budget ran out. :class:`ReadBudget` counts one kind of
content for one image; :class:`ConfigBudget` wraps a :class:`~.interface.RegistryReader`
for one image and charges each config's declared size (the client checks that the bytes
it reads match it) before reading it.

    >>> from gate.facts.registry.interface import Descriptor
    >>> from gate.reference import parse_reference
    >>> budget = ConfigBudget(None, limit=10)  # type: ignore[arg-type]
    >>> budget.charge(parse_reference("gcr.io/p/app"), Descriptor("t", "sha256:1", 20))
    Traceback (most recent call last):
    gate.facts.registry.budget.TooLarge: gcr.io/p/app: the image's configs are more ...
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


class TooLarge(RegistryError):
    """One image's content of one kind is past what gate reads for one image."""


class ReadBudget:
    """The bytes of one kind of content (``what``) gate reads for one image."""

    def __init__(self, limit: int, what: str, hint: str) -> None:
        self.limit, self.left, self.what, self.hint = limit, limit, what, hint

    def charge(self, ref: ImageRef, size: int, digest: str) -> None:
        """Count ``size`` bytes about to be read; TooLarge (and nothing left) past the limit."""
        if size > self.left:
            self.left = 0
            raise TooLarge.for_ref(
                ref,
                f"the image's {self.what} are more than gate reads for one image "
                f"({self.limit} bytes) at {digest}",
                self.hint,
            )
        self.left -= size


class ConfigBudget:
    """A :class:`RegistryReader` for one image that reads at most ``limit`` bytes of configs,
    all platforms together."""

    def __init__(self, reader: RegistryReader, limit: int = MAX_IMAGE_CONFIG_BYTES) -> None:
        self.reader = reader
        self.budget = ReadBudget(limit, "configs", _HINT)

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str:
        return self.reader.resolve(ref, deadline)

    def manifest(self, ref: ImageRef, digest: str, deadline: Deadline) -> Manifest:
        return self.reader.manifest(ref, digest, deadline)

    def config(self, ref: ImageRef, descriptor: Descriptor, deadline: Deadline) -> Any:
        self.charge(ref, descriptor)
        return self.reader.config(ref, descriptor, deadline)

    def charge(self, ref: ImageRef, descriptor: Descriptor) -> None:
        self.budget.charge(ref, descriptor.size, f"config {descriptor.digest}")


def check_index_images(ref: ImageRef, index: Manifest, images: list[Descriptor]) -> None:
    """RegistryError when ``index`` lists more images than gate reads for one image."""
    if len(images) > MAX_INDEX_IMAGES:
        raise RegistryError.for_ref(
            ref,
            f"index {index.digest} lists {len(images)} images, more than gate reads for one "
            f"image ({MAX_INDEX_IMAGES})",
            _HINT,
        )
