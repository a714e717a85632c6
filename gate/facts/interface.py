"""The fact-source contract: one method, frozen results.

A :class:`FactSource` turns an image reference into :class:`ImageFacts` (platforms from
the registry, vulnerabilities from a scanner, supply-chain evidence), resolving the
reference's digest on the way. Implementations: :class:`gate.facts.local.LocalFacts`
(files a developer supplies; ``gate eval --metadata``, the webhook's trial facts),
:class:`gate.facts.sources.FetchedFacts` (the registry and Artifact Analysis, gathered by
gate itself), and the webhook's :class:`gate.webhook.cache.CachedFacts` around either.
Failures raise :class:`gate.errors.GateError` subclasses (``RegistryError``,
``ScanError``); a source that gathers part of the facts keeps the rest and lists what
it could not have in ``ImageFacts.errors``.

    >>> import time
    >>> from gate.reference import parse_reference
    >>> class Empty(FactSource):
    ...     local = True
    ...     def gather(self, ref, deadline):
    ...         return ref, ImageFacts()
    >>> ref, facts = Empty().gather(parse_reference("gcr.io/p/app:1"), time.monotonic() + 5)
    >>> ref.tag, facts.platforms, facts.vulnerabilities
    ('1', (), None)
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import GateError
from gate.facts.scans.interface import ScanResult
from gate.reference import ImageRef

_SCALARS = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-shaped value (what every input document is made of), several
    times cheaper than ``copy.deepcopy``: mappings become dicts, lists stay lists, anything
    else is handed to ``copy.deepcopy``. Scalars, lists and dicts are tested first: an
    ``isinstance`` against the ``Mapping`` ABC costs several times more, and most values
    are strings."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if isinstance(value, (dict, Mapping)):
        return {key: copy_json(item) for key, item in value.items()}
    return copy.deepcopy(value)


@dataclass(frozen=True)
class Platform:
    """One image manifest: the schema's ``platform`` object."""

    os: str
    architecture: str
    variant: str
    manifest_digest: str | None
    media_type: str | None
    config: Mapping[str, Any]

    def to_input(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "architecture": self.architecture,
            "variant": self.variant,
            "manifest_digest": self.manifest_digest,
            "media_type": self.media_type,
            "config": copy_json(self.config),
        }


@dataclass(frozen=True)
class ImageFacts:
    """What gate knows about an image beyond its reference.

    ``errors``: the facts that could not be had (a scan source that failed, a platform
    the registry would not serve). The policies judge what is here, and the errors are
    added to the decision: they deny (fail closed) and are never cached.
    """

    platforms: tuple[Platform, ...] = ()
    vulnerabilities: ScanResult | None = None
    attestations: tuple[Mapping[str, Any], ...] = ()
    errors: tuple[GateError, ...] = ()
    # Supply-chain evidence, in the input schema's shape (gate.facts.provenance): verified
    # provenance and signatures, and what was found but did not verify.
    provenance: tuple[Mapping[str, Any], ...] = ()
    signatures: tuple[Mapping[str, Any], ...] = ()
    unverified: tuple[Mapping[str, Any], ...] = ()


class FactSource(abc.ABC):
    """Where an image's facts come from. One method; failures raise :class:`GateError`.

    ``local``: gathering contacts nothing (files on disk), so ``evaluate_image`` need not
    run the reference policies before it; every other source is asked only once they
    allowed the reference (gate never contacts what policy forbids). ``at_hand`` and
    ``pinned`` are for sources that keep what they gathered (the webhook's cache).
    """

    local = False

    @abc.abstractmethod
    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        """The reference (its digest resolved) and the facts, before ``deadline`` (monotonic)."""

    def at_hand(self, ref: ImageRef) -> tuple[ImageRef, ImageFacts] | None:
        """What ``gather(ref)`` would return, when it is known without contacting anything."""
        return None

    def pinned(self, ref: ImageRef) -> FactSource | None:
        """A source whose ``gather(ref)`` answers with what is at hand now, contacting
        nothing however long its caller waits; None when ``ref``'s facts must be fetched."""
        return self if self.local else None
