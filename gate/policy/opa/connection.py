"""Where OPA is, and the opa-python-client that talks to it.

:func:`parse_url` checks ``GATE_OPA_URL`` (``http[s]://host[:port]``, no path: OPA's API
lives at the root); :func:`connect` builds the client: a bearer token, a timeout, retries,
and for https either the system store or one CA file.

    >>> parse_url("https://opa.example/")
    ('https', 'opa.example', 443)
    >>> parse_url("http://[::1]:8181")
    ('http', '[::1]', 8181)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from requests.adapters import HTTPAdapter

from gate.errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}
URL_HINT = "GATE_OPA_URL looks like http://127.0.0.1:8181 or https://opa.example:8181"


def parse_url(url: str) -> tuple[str, str, int]:
    """Scheme, host (IPv6 in brackets) and port of an OPA URL; ConfigError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"OPA URL {url!r} is not an http(s) URL with a host", hint=URL_HINT)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"OPA URL {url!r} has a path or query; OPA's API lives at the server root",
            hint=URL_HINT,
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"OPA URL {url!r} carries credentials", hint="pass a bearer token in GATE_OPA_TOKEN"
        )
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ConfigError(f"OPA URL {url!r} has an invalid port", hint=URL_HINT) from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port


def connect(
    scheme: str, host: str, port: int, *, token: str, ca_file: str, retries: int, timeout: float
) -> OpaClient:
    """The client for OPA at ``scheme://host:port``; https verifies with ``ca_file`` alone
    when one is given, else with the system store."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "ssl": scheme == "https",
        "token": token or None,
        "retries": retries,
        "timeout": timeout,
    }
    if scheme == "https" and ca_file:
        return _CaFileClient(ca_file, **options)
    return OpaClient(**options)


class _CaFileClient(OpaClient):  # type: ignore[misc]
    """An OpaClient whose https requests are verified with one CA file, whatever
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE say: requests lets those variables replace a
    session's ``verify`` (psf/requests#3829). The client builds its session in
    ``_init_session``, the hook its base class leaves to subclasses; this one adds an
    adapter that pins the CA file to the session it builds."""

    def __init__(self, ca_file: str, **options: Any) -> None:
        self._ca_file = ca_file  # read by _init_session, which the base __init__ calls
        super().__init__(**options)

    def _init_session(self) -> requests.Session:
        session: requests.Session = super()._init_session()
        session.verify = self._ca_file
        current = session.get_adapter("https://")
        retries = current.max_retries if isinstance(current, HTTPAdapter) else 0
        session.mount("https://", _CaFileAdapter(self._ca_file, retries))
        return session


class _CaFileAdapter(HTTPAdapter):
    """Verify with one CA file, whatever ``verify`` requests computed from the environment."""

    def __init__(self, ca_file: str, max_retries: Any) -> None:
        super().__init__(max_retries=max_retries)
        self.ca_file = ca_file

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, timeout, self.ca_file, cert, proxies)
