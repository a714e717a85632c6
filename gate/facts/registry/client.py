"""An OCI Distribution registry client that verifies what it reads and contacts only what it may.

Every call first checks ``registry/repository`` against the approved patterns: fixed
ones, or (as gate wires it) a function that asks the policy set which names it may
fetch (``Engine.fetchable``): an unapproved image makes no connection at all. Tags
resolve with HEAD (GET if the registry gives no digest), manifests and config blobs are
read by digest with size limits, hashed, and cached by digest; concurrent requests for
one digest (or one tag) share one fetch.

    >>> from gate.reference import parse_reference
    >>> client = RegistryClient(ClientOptions(approved=("us-docker.pkg.dev/proj/**",)))
    >>> client.resolve(parse_reference("evil.example/x:1"), Deadline.after(1))
    Traceback (most recent call last):
    ...
    gate.facts.registry.interface.RegistryError: evil.example/x: not an approved registry; ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import requests

from gate.errors import GateError, InvalidReference
from gate.facts import parse_json
from gate.facts.registry.auth import DEFAULT_TOKEN_HOSTS, Authenticator
from gate.facts.registry.cache import ContentCache, SingleFlight, TagCache
from gate.facts.registry.interface import Deadline, Descriptor, Manifest, RegistryError
from gate.facts.registry.manifest import parse_manifest
from gate.facts.registry.session import RegistrySession, boundary
from gate.facts.registry.transport import Transport, TransportOptions
from gate.facts.registry.verify import (
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    check_digest,
    compute_digest,
    read_limited,
    verify_digest,
)
from gate.reference import ImageRef, matches_any

Approved = tuple[str, ...] | Callable[[], Sequence[str]]


@dataclass(frozen=True)
class ClientOptions:
    # registry/repository patterns, or a function that returns them (asked on every check;
    # it caches): empty approves nothing, a function that raises approves nothing either
    approved: Approved
    # Hosts registries redirect blob downloads to: GCR/Artifact Registry, Docker Hub.
    blob_hosts: tuple[str, ...] = ("storage.googleapis.com", "production.cloudflare.docker.com")
    token_hosts: tuple[str, ...] = DEFAULT_TOKEN_HOSTS
    transport: TransportOptions = field(default_factory=TransportOptions)
    max_manifest_bytes: int = MAX_MANIFEST_BYTES
    max_config_bytes: int = MAX_CONFIG_BYTES
    cache_entries: int = 1024
    cache_bytes: int = 64 * 1024 * 1024
    tag_ttl: float = 30.0


# A parsed manifest holds about 2.7 times its JSON (an index of 20,000 entries, measured
# with tracemalloc): the content cache's bytes are what it holds, not what was read.
PARSED_MANIFEST_FACTOR = 3


def manifest_weight(data: bytes) -> int:
    """The bytes a manifest parsed from ``data`` holds in the content cache, about."""
    return PARSED_MANIFEST_FACTOR * len(data)


class RegistryClient:
    """Reads manifests and configs; implements :class:`~.interface.RegistryReader`."""

    def __init__(
        self,
        options: ClientOptions,
        *,
        auth: Authenticator | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.options = options
        self.transport = Transport(options.transport, session)
        self.session = RegistrySession(
            self.transport, auth or Authenticator(), options.blob_hosts, options.token_hosts
        )
        self.cache = ContentCache(options.cache_entries, options.cache_bytes)
        self.tags = TagCache(options.tag_ttl)
        self._flight: SingleFlight[Any] = SingleFlight()

    def approved(self) -> tuple[str, ...]:
        """The approved patterns now; GateError if they cannot be had."""
        approved = self.options.approved
        return tuple(approved()) if callable(approved) else approved

    def check_allowed(self, ref: ImageRef) -> None:
        """RegistryError unless ``ref.name`` matches an approved pattern (no registry I/O)."""
        try:
            patterns = self.approved()
        except GateError as exc:
            raise RegistryError.for_ref(
                ref,
                f"cannot tell whether gate may contact it, so it will not: {exc.message}",
                exc.hint,
            ) from exc
        try:
            allowed = matches_any(patterns, ref.name)
        except InvalidReference as exc:
            raise RegistryError.for_ref(ref, f"invalid approved pattern: {exc}", exc.hint) from exc
        if not allowed:
            raise RegistryError.for_ref(
                ref,
                "not an approved registry; gate will not contact it",
                "approve it in data.gate.params.registries.approved, or use an image from "
                "an approved registry",
            )

    def stats(self) -> dict[str, int]:
        """Round trips, retries, content-cache hits and misses, tag-cache hits so far."""
        counts, cache = self.transport.stats, self.cache
        return {"round_trips": counts["round_trips"], "retries": counts["retries"],
                "cache_hits": cache.hits, "cache_misses": cache.misses, "tag_hits": self.tags.hits}  # fmt: skip

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str:
        self.check_allowed(ref)
        if ref.digest is not None:
            return ref.digest
        tag = ref.tag or "latest"
        cached = self.tags.get(ref.name, tag)
        if cached is not None:
            return cached
        with boundary(ref):
            fetch = lambda: self._resolve_tag(ref, tag, deadline)  # noqa: E731
            digest = cast(str, self._once(ref, ("tag", ref.name, tag), deadline, fetch, False))
        self.tags.put(ref.name, tag, digest)
        return digest

    def manifest(self, ref: ImageRef, digest: str, deadline: Deadline) -> Manifest:
        self.check_allowed(ref)
        with boundary(ref):
            check_digest(digest, ref.registry, ref.repository, "manifest")
            fetch = lambda: self._fetch_manifest(ref, digest, deadline)  # noqa: E731
            return cast(Manifest, self._once(ref, ("manifest", ref.name, digest), deadline, fetch))

    def config(self, ref: ImageRef, descriptor: Descriptor, deadline: Deadline) -> Any:
        limit = self.options.max_config_bytes
        if descriptor.size > limit:
            raise RegistryError.for_ref(
                ref,
                f"config {descriptor.digest} is {descriptor.size} bytes, over gate's limit of "
                f"{limit}",
                "real image configs are far smaller: the image is broken or hostile",
            )
        data = self.blob(ref, descriptor.digest, deadline, limit)
        if len(data) != descriptor.size:  # as containerd checks: budgets trust the size
            raise RegistryError.for_ref(
                ref,
                f"config {descriptor.digest} is {len(data)} bytes, its manifest says "
                f"{descriptor.size}",
                "the image is broken or hostile: rebuild and re-push it",
            )
        try:
            return parse_json(data)
        except ValueError as exc:
            raise RegistryError.for_ref(ref, f"config {descriptor.digest}: {exc}") from exc

    def blob(self, ref: ImageRef, digest: str, deadline: Deadline, limit: int) -> bytes:
        self.check_allowed(ref)
        with boundary(ref):
            check_digest(digest, ref.registry, ref.repository, "blob")
            fetch = lambda: self._fetch_blob(ref, digest, deadline, limit)  # noqa: E731
            return cast(bytes, self._once(ref, ("blob", ref.name, digest), deadline, fetch))

    def _once(
        self,
        ref: ImageRef,
        key: tuple[str, ...],
        deadline: Deadline,
        fetch: Callable[[], Any],
        cached: bool = True,
    ) -> Any:
        """The cached value for ``key``, or one fetch shared by concurrent callers."""
        hit = self.cache.get(key) if cached else None
        if hit is not None:
            return hit

        def lead() -> Any:
            again = self.cache.get(key) if cached else None  # a leader that just finished
            return again if again is not None else fetch()

        def timed_out() -> Any:
            raise RegistryError.for_ref(
                ref,
                f"deadline exceeded waiting for a concurrent fetch of {key[2]}",
                "the registry answered too slowly for the time budget",
            )

        return self._flight.do(key, lead, deadline.remaining(), timed_out)

    def _resolve_tag(self, ref: ImageRef, tag: str, deadline: Deadline) -> str:
        path, what = f"/v2/{ref.repository}/manifests/{tag}", f"tag {tag}"
        with self.session.request(ref, "HEAD", path, deadline, what) as response:
            header = response.headers.get("Docker-Content-Digest", "")
            if response.status_code == 200 and header:
                return check_digest(header, ref.registry, ref.repository, what)
            if response.status_code in (401, 403, 404):
                raise self.session.status_error(ref, response, what)
        data, content_type, header = self._get(ref, path, deadline, what)
        digest = header or compute_digest(data)
        return self._keep_manifest(ref, data, content_type, digest, what).digest

    def _fetch_manifest(self, ref: ImageRef, digest: str, deadline: Deadline) -> Manifest:
        what = f"manifest {digest}"
        path = f"/v2/{ref.repository}/manifests/{digest}"
        data, content_type, _ = self._get(ref, path, deadline, what)
        return self._keep_manifest(ref, data, content_type, digest, what)

    def _keep_manifest(
        self, ref: ImageRef, data: bytes, content_type: str, digest: str, what: str
    ) -> Manifest:
        check_digest(digest, ref.registry, ref.repository, what)
        verify_digest(data, digest, ref.registry, ref.repository, what)
        parsed = parse_manifest(data, content_type, digest, ref.registry, ref.repository)
        self.cache.put(("manifest", ref.name, digest), parsed, manifest_weight(data))
        return parsed

    def _fetch_blob(self, ref: ImageRef, digest: str, deadline: Deadline, limit: int) -> bytes:
        what = f"blob {digest}"
        path = f"/v2/{ref.repository}/blobs/{digest}"
        data, _, _ = self._get(ref, path, deadline, what, limit)
        verify_digest(data, digest, ref.registry, ref.repository, what)
        self.cache.put(("blob", ref.name, digest), data, len(data))
        return data

    def _get(
        self, ref: ImageRef, path: str, deadline: Deadline, what: str, limit: int | None = None
    ) -> tuple[bytes, str, str]:
        """Body (size-limited), Content-Type and Docker-Content-Digest of a 200 GET."""
        with self.session.request(ref, "GET", path, deadline, what) as response:
            if response.status_code != 200:
                raise self.session.status_error(ref, response, what)
            limit = self.options.max_manifest_bytes if limit is None else limit
            data = read_limited(response, limit, ref.registry, ref.repository, what)
            headers = response.headers
            return data, headers.get("Content-Type", ""), headers.get("Docker-Content-Digest", "")
