"""Which credentials gate presents to a registry: Docker config.json, Google ADC, or none.

Order for a registry host: an ``auths`` entry (basic); a ``credHelpers`` entry naming
``gcloud`` (Google Application Default Credentials, sent as user ``oauth2accesstoken``);
``credsStore: gcloud`` or an Artifact Registry / Container Registry host (ADC); else
anonymous. Other credential helpers are not run (gate executes no programs named in a
file); such hosts go anonymous and the note says why.

    >>> config = DockerConfig.from_json({"auths": {"https://r.example": {"auth": "dTpw"}},
    ...     "credHelpers": {"us-docker.pkg.dev": "gcloud"}})
    >>> config.basic("r.example"), config.helper("us-docker.pkg.dev")
    (('u', 'p'), 'gcloud')
    >>> is_google_host("europe-west1-docker.pkg.dev"), is_google_host("gcr.io.evil.example")
    (True, False)
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gate.facts.registry.interface import RegistryError

GOOGLE_USER = "oauth2accesstoken"
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
_CONFIG_HINT = "fix the Docker config.json (see `docker login`), or point gate at another one"


def is_google_host(host: str) -> bool:
    """Artifact Registry (``*-docker.pkg.dev``) or Container Registry (``[*.]gcr.io``)."""
    name = host.lower().partition(":")[0]
    return name.endswith("-docker.pkg.dev") or name == "gcr.io" or name.endswith(".gcr.io")


class TokenProvider(Protocol):
    """A source of OAuth2 access tokens (Google ADC in production, a fake in tests)."""

    def access_token(self) -> str: ...


class GoogleADC:
    """Access tokens from Google Application Default Credentials, refreshed when stale."""

    def __init__(self) -> None:
        self._credentials: Any = None
        self._lock = threading.Lock()

    def access_token(self) -> str:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests

        with self._lock:
            try:
                if self._credentials is None:
                    self._credentials, _ = google.auth.default(scopes=list(GOOGLE_SCOPES))
                if not self._credentials.valid:
                    self._credentials.refresh(google.auth.transport.requests.Request())
                return str(self._credentials.token)
            except google.auth.exceptions.GoogleAuthError as exc:
                raise RegistryError(
                    f"Google Application Default Credentials unavailable: {exc}",
                    hint="run `gcloud auth application-default login`, set "
                    "GOOGLE_APPLICATION_CREDENTIALS, or run with a service account",
                ) from exc


@dataclass(frozen=True)
class Credentials:
    """What to present; ``source`` says where it came from (for error hints)."""

    username: str = ""
    password: str = ""
    source: str = "anonymous"

    @property
    def anonymous(self) -> bool:
        return not self.username


@dataclass(frozen=True)
class DockerConfig:
    """The parts of a Docker ``config.json`` that gate reads."""

    auths: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    cred_helpers: Mapping[str, str] = field(default_factory=dict)
    creds_store: str = ""

    @classmethod
    def load(cls, path: str | Path | None) -> DockerConfig:
        """Read ``path``; an absent path or file is an empty config."""
        if path is None or not Path(path).is_file():
            return cls()
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"cannot read Docker config {path}: {exc}", hint=_CONFIG_HINT
            ) from exc

    @classmethod
    def from_json(cls, doc: Any) -> DockerConfig:
        if not isinstance(doc, dict):
            raise ValueError("the Docker config is not a JSON object")
        auths = {
            _host_key(key): pair
            for key, entry in (doc.get("auths") or {}).items()
            if (pair := _basic_pair(entry)) is not None
        }
        helpers = {_host_key(k): str(v) for k, v in (doc.get("credHelpers") or {}).items()}
        return cls(auths, helpers, str(doc.get("credsStore") or ""))

    def basic(self, host: str) -> tuple[str, str] | None:
        for name in _DOCKER_HUB if host.lower() == "docker.io" else (host.lower(),):
            if name in self.auths:
                return self.auths[name]
        return None

    def helper(self, host: str) -> str:
        return self.cred_helpers.get(host.lower(), "")


def _host_key(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``index.docker.io``."""
    return key.lower().partition("://")[2].partition("/")[0] if "://" in key else key.lower()


def _basic_pair(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password"):
        return str(entry["username"]), str(entry["password"])
    try:
        user, colon, password = base64.b64decode(str(entry.get("auth", ""))).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("an 'auth' value in 'auths' is not base64 of user:password") from exc
    return (user, password) if colon and user else None


class CredentialStore:
    """Looks up :class:`Credentials` for a registry host."""

    def __init__(self, config: DockerConfig | None = None, google: TokenProvider | None = None):
        self.config = config or DockerConfig()
        self.google = google or GoogleADC()

    def for_host(self, host: str) -> Credentials:
        """Credentials to present, or anonymous with a ``source`` saying why."""
        basic = self.config.basic(host)
        if basic is not None:
            return Credentials(*basic, source="config.json auths")
        helper = self.config.helper(host)
        google_store = self.config.creds_store == "gcloud" and is_google_host(host)
        if helper == "gcloud" or google_store or (not helper and is_google_host(host)):
            return self._google()
        if helper:
            return Credentials(source=f"anonymous: credential helper {helper!r} is not run")
        return Credentials()

    def _google(self) -> Credentials:
        try:
            return Credentials(GOOGLE_USER, self.google.access_token(), "Google ADC")
        except RegistryError as exc:
            return Credentials(source=f"anonymous: {exc.message}")
