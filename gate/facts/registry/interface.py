"""The registry client's narrow contract: a deadline, frozen results, one error family.

:class:`RegistryReader` is all that :mod:`gate.facts.registry.facts` needs from a client:
resolve a reference to a digest, read a manifest by digest, read a blob by digest. Every
failure is a :class:`RegistryError` whose hint names the registry, the repository, the
HTTP status where there is one, and what to check.

    >>> deadline = Deadline.after(5.0)
    >>> 0 < deadline.remaining() <= 5.0
    True
    >>> err = RegistryError.for_status("gcr.io", "p/app", 404, "manifest sha256:ab")
    >>> err.status, "not found" in err.message
    (404, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from gate.errors import GateError
from gate.reference import ImageRef

_STATUS_HINTS = {
    401: "check the credentials for this registry (docker config.json, or Google ADC for "
    "Artifact Registry and gcr.io)",
    403: "the credentials are valid but may not read this repository: grant the reader role",
    404: "check the repository, tag or digest: the registry does not have it",
    429: "the registry is rate limiting gate: retry later or use a mirror",
}
_DEFAULT_HINT = "check the registry's status and the network path from gate to it"


class RegistryError(GateError):
    """A registry that cannot be reached, refuses, or serves content gate cannot trust."""

    kind = "registry"

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        registry: str = "",
        repository: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint or _STATUS_HINTS.get(status or 0, _DEFAULT_HINT))
        self.registry = registry
        self.repository = repository
        self.status = status

    @classmethod
    def for_ref(cls, ref: ImageRef, message: str, hint: str = "") -> RegistryError:
        """An error about ``ref`` (the message is prefixed with its name)."""
        return cls(
            f"{ref.name}: {message}", hint=hint, registry=ref.registry, repository=ref.repository
        )

    @classmethod
    def for_status(cls, registry: str, repository: str, status: int, what: str) -> RegistryError:
        """The error for an unexpected HTTP answer while reading ``what``."""
        reason = {401: "unauthorized", 403: "forbidden", 404: "not found"}.get(status, "failed")
        return cls(
            f"{registry}/{repository}: {what}: {reason} (HTTP {status})",
            registry=registry,
            repository=repository,
            status=status,
        )


@dataclass(frozen=True)
class Deadline:
    """A point in (monotonic) time after which no registry work may go on."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.expires_at

    def check(self, ref: ImageRef, what: str) -> None:
        """Raise a RegistryError naming ``what`` if the deadline has passed."""
        if self.expired():
            error = deadline_error(f"{ref.name}: {what}")
            raise RegistryError.for_ref(ref, f"{what}: deadline exceeded", error.hint)


def deadline_error(where: str) -> RegistryError:
    return RegistryError(
        f"{where}: deadline exceeded",
        hint="the registry answered too slowly for the time budget: check its latency, "
        "or raise the deadline",
    )


def network_error(exc: requests.RequestException, where: str, deadline: Deadline) -> RegistryError:
    """The RegistryError for a failed request (a deadline error once time is up)."""
    if deadline.expired():
        return deadline_error(where)
    if isinstance(exc, requests.exceptions.SSLError):
        hint = "the TLS certificate did not verify: set the CA bundle for a private registry"
    elif isinstance(exc, requests.Timeout):
        hint = "the registry did not answer in time: check its status and latency"
    else:
        hint = "gate cannot reach the registry: check DNS, firewall and the registry's status"
    return RegistryError(f"{where}: {type(exc).__name__}: {exc}", hint=hint)


@dataclass(frozen=True)
class Platform:
    """An index entry's platform (``variant`` is ``""`` when absent)."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``os/arch[/variant]``, e.g. ``linux/arm64`` or ``linux/arm/v7``."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/architecture[/variant]")
        return cls(*parts)


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about another piece of content."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    artifact_type: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True)
class Manifest:
    """A verified image manifest or index, with the digest of its exact bytes."""

    digest: str
    media_type: str
    size: int
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    is_index: bool = field(default=False)


class RegistryReader(Protocol):
    """What fetching an image's facts needs from a registry client."""

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str:
        """The digest ``ref`` names (its own digest, or its tag's current one)."""
        ...

    def manifest(self, ref: ImageRef, digest: str, deadline: Deadline) -> Manifest:
        """The manifest or index ``digest`` in ``ref``'s repository, verified."""
        ...

    def config(self, ref: ImageRef, descriptor: Descriptor, deadline: Deadline) -> Any:
        """The decoded JSON of a config blob, verified and size-limited."""
        ...
