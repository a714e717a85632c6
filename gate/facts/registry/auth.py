"""Registry authentication: the ``WWW-Authenticate`` challenge, Bearer tokens cached until expiry.

A registry answers an unauthenticated request with 401 and a challenge: ``Basic
realm=...`` (send the credentials) or ``Bearer realm=...,service=...,scope=...`` (get a
token from the realm, presenting the credentials, then send the token). The
:class:`Authenticator` remembers each registry's challenge, so later requests send a
cached token straight away, and it sends credentials only to the registry itself or to
a configured token host (never to whatever realm a registry names).

    >>> c = Challenge.parse('Bearer realm="https://gcr.io/v2/token",service="gcr.io"')
    >>> c.scheme, c.params["realm"], c.params["service"]
    ('bearer', 'https://gcr.io/v2/token', 'gcr.io')
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from gate.facts import parse_json
from gate.facts.registry.credentials import Credentials, CredentialStore
from gate.facts.registry.interface import Deadline, RegistryError
from gate.facts.registry.transport import Transport
from gate.facts.registry.verify import read_limited

MAX_TOKEN_BYTES = 64 * 1024
DEFAULT_TOKEN_HOSTS = ("auth.docker.io",)
"""Token hosts other than the registry itself that may receive credentials (Docker Hub's)."""
_PARAM_RE = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]*))')


@dataclass(frozen=True)
class Target:
    """Whom a request is for, and which hosts may receive its credentials (token realms)."""

    registry: str
    repository: str
    token_hosts: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: Mapping[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge | None:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() not in ("basic", "bearer"):
            return None
        params = {m[1].lower(): m[2] or m[3] for m in _PARAM_RE.finditer(rest)}
        if scheme.lower() == "bearer" and not params.get("realm"):
            return None
        return cls(scheme.lower(), params)


class Authenticator:
    """Authorization headers for registry requests; one per client, shared by threads."""

    def __init__(
        self, store: CredentialStore | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store or CredentialStore()
        self._clock = clock
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def credentials(self, registry: str) -> Credentials:
        return self.store.for_host(registry)

    def headers(self, transport: Transport, target: Target, deadline: Deadline) -> dict[str, str]:
        """Headers for a request, from the registry's last challenge ({} if none yet)."""
        with self._lock:
            challenge = self._challenges.get(target.registry)
        return {} if challenge is None else self._authorize(transport, challenge, target, deadline)

    def challenged(
        self, transport: Transport, target: Target, header: str, deadline: Deadline
    ) -> dict[str, str]:
        """Headers answering a 401's ``WWW-Authenticate`` header (a fresh token)."""
        challenge = Challenge.parse(header)
        if challenge is None:
            raise RegistryError(
                f"{target.name}: unauthorized, and no usable challenge ({header[:80]!r})",
                registry=target.registry,
                repository=target.repository,
                status=401,
            )
        with self._lock:
            self._challenges[target.registry] = challenge
            for key in [key for key in self._tokens if key[0] == target.registry]:
                del self._tokens[key]
        return self._authorize(transport, challenge, target, deadline)

    def _authorize(
        self, transport: Transport, challenge: Challenge, target: Target, deadline: Deadline
    ) -> dict[str, str]:
        creds = self.store.for_host(target.registry)
        if challenge.scheme == "basic":
            if creds.anonymous:
                raise needs_credentials(target, creds)
            return {"Authorization": _basic(creds)}
        scope = f"repository:{target.repository}:pull"
        realm, service = challenge.params["realm"], challenge.params.get("service", "")
        key = (target.registry, realm, service, scope, creds.username)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] > self._clock():
            return {"Authorization": f"Bearer {cached[0]}"}
        query = {"scope": scope, **({"service": service} if service else {})}
        url = f"{realm}{'&' if urlsplit(realm).query else '?'}{urlencode(query)}"
        token, lifetime = self._fetch(transport, url, creds, target, deadline)
        with self._lock:
            self._tokens[key] = (token, self._clock() + lifetime - min(10.0, lifetime / 2))
        return {"Authorization": f"Bearer {token}"}

    def _fetch(
        self, transport: Transport, url: str, creds: Credentials, target: Target, deadline: Deadline
    ) -> tuple[str, float]:
        headers = {} if creds.anonymous else {"Authorization": _basic(creds)}
        where = f"{target.name}: token from {urlsplit(url).netloc}"
        hosts = target.token_hosts
        with transport.open(
            "GET", url, hosts=hosts, deadline=deadline, where=where, headers=headers
        ) as response:
            if response.status_code in (401, 403):
                raise needs_credentials(target, creds, response.status_code)
            if response.status_code != 200:
                raise RegistryError.for_status(
                    target.registry, target.repository, response.status_code, "token request"
                )
            body = read_limited(
                response, MAX_TOKEN_BYTES, target.registry, target.repository, "token"
            )
        return _token(body, target)


def _token(body: bytes, target: Target) -> tuple[str, float]:
    try:
        doc: Any = parse_json(body)
        token = doc.get("token") or doc.get("access_token")
        lifetime = float(doc.get("expires_in") or 60)
    except (ValueError, AttributeError, TypeError) as exc:
        raise RegistryError(f"{target.name}: token response is not usable JSON ({exc})") from exc
    if not isinstance(token, str) or not token:
        raise RegistryError(f"{target.name}: token response has no token")
    return token, max(lifetime, 1.0)


def _basic(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


def needs_credentials(target: Target, creds: Credentials, status: int = 401) -> RegistryError:
    """The error for refused credentials; the hint says what gate presented."""
    error = RegistryError.for_status(target.registry, target.repository, status, "authentication")
    error.hint = f"{error.hint} (gate presented: {creds.source})"
    return error
