"""The signing API's settings: one frozen group inside :class:`gate.config.Settings`.

Every field is a ``GATE_API_<FIELD>`` variable (docs/api.md). The API is off until
``GATE_API_AUDIENCE`` is set; then ``GATE_API_CALLERS`` must name who may call it, and
each attestor offered for signing (``GATE_API_ATTESTORS``, plus ``GATE_ATTESTOR`` with
``GATE_ATTEST_KEY``) must name its own callers in ``GATE_API_ATTESTOR_CALLERS``.

    >>> s = ApiSettings.from_env({"GATE_API_AUDIENCE": "https://gate.example.com",
    ...     "GATE_API_CALLERS": "*@ci.iam.gserviceaccount.com",
    ...     "GATE_API_ATTESTORS": "projects/p/attestors/prod=gcpkms://projects/p/k",
    ...     "GATE_API_ATTESTOR_CALLERS":
    ...         "projects/p/attestors/prod=build@ci.iam.gserviceaccount.com"})
    >>> s.enabled, s.callers_of("projects/p/attestors/prod")
    (True, ('build@ci.iam.gserviceaccount.com',))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from gate.envparse import fields_from_env
from gate.errors import ConfigError

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_SKEW = 300.0


@dataclass(frozen=True)
class ApiSettings:
    audience: str = ""  # GATE_API_AUDIENCE: the token audience; "" = the API is off
    issuers: tuple[str, ...] = GOOGLE_ISSUERS  # GATE_API_ISSUERS
    jwks_url: str = GOOGLE_JWKS_URL  # GATE_API_JWKS_URL: the issuer's signing keys
    jwks_ca_file: str = ""  # GATE_API_JWKS_CA_FILE: a private CA for the JWKS URL (tests)
    clock_skew: float = 30.0  # GATE_API_CLOCK_SKEW: seconds of leeway on exp, iat, nbf
    callers: tuple[str, ...] = ()  # GATE_API_CALLERS: emails, or *@domain
    attestors: tuple[tuple[str, str], ...] = ()  # GATE_API_ATTESTORS: attestor=key,…
    attestor_callers: tuple[tuple[str, str], ...] = ()  # GATE_API_ATTESTOR_CALLERS
    max_body: int = 64 * 1024  # GATE_API_MAX_BODY: bytes per request body
    timeout: float = 120.0  # GATE_API_TIMEOUT: seconds per request before a 504
    caller_concurrency: int = 2  # GATE_API_CALLER_CONCURRENCY: requests in flight per caller
    max_in_flight: int = 4  # GATE_API_MAX_IN_FLIGHT: API requests in flight per worker
    only: bool = False  # GATE_API_ONLY: serve the API and health only (no /validate)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        names = {item.name: f"GATE_API_{item.name.upper()}" for item in fields(cls)}
        return cls(**fields_from_env(cls, env, names)).validated()

    @property
    def enabled(self) -> bool:
        return bool(self.audience)

    def callers_of(self, attestor: str) -> tuple[str, ...]:
        """The caller patterns allowed to have ``attestor`` sign (empty: nobody)."""
        return tuple(who for name, who in self.attestor_callers if name == attestor)

    def validated(self) -> ApiSettings:
        for name, value, low, high in (
            ("GATE_API_CLOCK_SKEW", self.clock_skew, 0, MAX_SKEW),
            ("GATE_API_TIMEOUT", self.timeout, 1, 3600),
            ("GATE_API_MAX_BODY", self.max_body, 256, 16 * 1024 * 1024),
            ("GATE_API_CALLER_CONCURRENCY", self.caller_concurrency, 1, 1000),
            ("GATE_API_MAX_IN_FLIGHT", self.max_in_flight, 1, 1000),
        ):
            if not low <= value <= high:
                raise ConfigError(f"{name}={value} is outside [{low}, {high}]")
        for pattern in self.callers + tuple(who for _, who in self.attestor_callers):
            check_caller_pattern(pattern)
        if self.enabled:
            self._check_enabled()
        return self

    def _check_enabled(self) -> None:
        if not self.callers:
            raise ConfigError(
                "GATE_API_AUDIENCE is set but GATE_API_CALLERS is empty: nobody could call the API",
                hint="list the pipeline service accounts, e.g. "
                "GATE_API_CALLERS=build@PROJECT.iam.gserviceaccount.com",
            )
        if not self.issuers:
            raise ConfigError("GATE_API_ISSUERS is empty", hint="leave it unset for Google's")
        url = urlsplit(self.jwks_url)
        if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK):
            raise ConfigError(
                f"GATE_API_JWKS_URL={self.jwks_url!r} must be https",
                hint="plain http is accepted only on 127.0.0.1/localhost, for tests",
            )


def check_caller_pattern(pattern: str) -> None:
    """ConfigError unless ``pattern`` is ``name@domain`` or ``*@domain``.

    >>> check_caller_pattern("*@example.com")
    >>> check_caller_pattern("example.com")
    Traceback (most recent call last):
    ...
    gate.errors.ConfigError: caller 'example.com' is neither an email nor *@domain
    """
    local, at, domain = pattern.rpartition("@")
    if not at or not local or not domain or "*" in domain or ("*" in local and local != "*"):
        raise ConfigError(
            f"caller {pattern!r} is neither an email nor *@domain",
            hint="e.g. build@p.iam.gserviceaccount.com, or *@p.iam.gserviceaccount.com",
        )
