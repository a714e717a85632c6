"""Registry client: an image's manifests and configs, verified, from approved registries only.

Build one :class:`RegistryClient` per process (it holds the caches and tokens) and ask
:func:`fetch_platforms` for an image's facts within a :class:`Deadline`:

    >>> from gate.facts.registry import (ClientOptions, Deadline, RegistryClient,
    ...     RegistryError, fetch_platforms)
    >>> from gate.reference import parse_reference
    >>> client = RegistryClient(ClientOptions(approved=("us-docker.pkg.dev/proj/**",)))
    >>> try:
    ...     fetch_platforms(client, parse_reference("evil.example/app:1"), Deadline.after(5))
    ... except RegistryError as err:
    ...     print(err.registry, err.hint[:18])
    evil.example approve it in data

Modules: ``interface`` (contract, errors, deadline), ``client`` (HTTP reads), ``auth`` and
``credentials`` (challenges, tokens, config.json, Google ADC), ``cache`` (LRU, tag TTL,
single-flight), ``verify`` (digests, size limits), ``manifest`` (parsing, index entries),
``transport`` and ``watchdog`` (allowlist per hop, redirects, retries, deadline), ``facts``.
"""

from __future__ import annotations

from gate.facts.registry.auth import Authenticator
from gate.facts.registry.client import ClientOptions, RegistryClient
from gate.facts.registry.credentials import (
    CredentialStore,
    DockerConfig,
    GoogleADC,
    TokenProvider,
    is_google_host,
)
from gate.facts.registry.facts import RegistryFacts, fetch_platforms
from gate.facts.registry.interface import (
    Deadline,
    Descriptor,
    Manifest,
    Platform,
    RegistryError,
    RegistryReader,
)
from gate.facts.registry.transport import TransportOptions

__all__ = [
    "Authenticator",
    "ClientOptions",
    "CredentialStore",
    "Deadline",
    "Descriptor",
    "DockerConfig",
    "GoogleADC",
    "Manifest",
    "Platform",
    "RegistryClient",
    "RegistryError",
    "RegistryFacts",
    "RegistryReader",
    "TokenProvider",
    "TransportOptions",
    "fetch_platforms",
    "is_google_host",
]
