"""Authenticated requests to one image's repository: transport plus challenge handling.

:meth:`RegistrySession.request` sends a request with the registry's cached credentials
or token; on a 401 carrying a challenge it authenticates and sends the request once
more. Hosts a request may reach: the registry's API host and the configured blob-storage
hosts (registries redirect blob downloads there); Docker Hub's API is
``registry-1.docker.io``.

    >>> api_host("docker.io"), api_host("us-docker.pkg.dev")
    ('registry-1.docker.io', 'us-docker.pkg.dev')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests

from gate.facts.registry.auth import Authenticator, Target
from gate.facts.registry.interface import Deadline, RegistryError
from gate.facts.registry.manifest import ACCEPT
from gate.facts.registry.transport import Transport
from gate.reference import ImageRef

_API_HOSTS = {"docker.io": "registry-1.docker.io"}


def api_host(registry: str) -> str:
    """The host that serves ``registry``'s ``/v2/`` API."""
    return _API_HOSTS.get(registry, registry)


class RegistrySession:
    """Sends authenticated, allowlisted requests; shared by threads."""

    def __init__(
        self,
        transport: Transport,
        auth: Authenticator,
        blob_hosts: tuple[str, ...],
        token_hosts: tuple[str, ...],
    ) -> None:
        self.transport = transport
        self.auth = auth
        self.blob_hosts = blob_hosts
        self.token_hosts = token_hosts

    @contextlib.contextmanager
    def request(
        self, ref: ImageRef, method: str, path: str, deadline: Deadline, what: str
    ) -> Iterator[requests.Response]:
        """The response to ``method path`` in ``ref``'s registry; a 401 challenge answered once."""
        api = api_host(ref.registry)
        url = self.transport.base_url(api) + path
        hosts = (api, *self.blob_hosts)
        where = f"{ref.name}: {what}"
        target = Target(ref.registry, ref.repository, (api, *self.token_hosts))
        auth = self.auth.headers(self.transport, target, deadline)
        headers = {"Accept": ACCEPT, **auth}
        open_ = self.transport.open
        with open_(method, url, hosts=hosts, deadline=deadline, where=where, headers=headers) as r:
            challenge = r.headers.get("WWW-Authenticate", "")
            if r.status_code != 401 or not challenge:
                yield r
                return
        auth = self.auth.challenged(self.transport, target, challenge, deadline)
        headers = {**headers, **auth}
        with open_(method, url, hosts=hosts, deadline=deadline, where=where, headers=headers) as r:
            yield r

    def status_error(self, ref: ImageRef, response: requests.Response, what: str) -> RegistryError:
        """The error for an unexpected status; for 401/403 it says what gate presented."""
        error = RegistryError.for_status(ref.registry, ref.repository, response.status_code, what)
        if response.status_code in (401, 403):
            error.hint = (
                f"{error.hint} (gate presented: {self.auth.credentials(ref.registry).source})"
            )
        return error


@contextlib.contextmanager
def boundary(ref: ImageRef) -> Iterator[None]:
    """Fill in the registry and repository of errors raised below."""
    try:
        yield
    except RegistryError as exc:
        exc.registry = exc.registry or ref.registry
        exc.repository = exc.repository or ref.repository
        raise
