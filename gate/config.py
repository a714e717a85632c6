"""Settings: one frozen object, and the only place gate reads the environment.

Every CLI flag defaults to a ``GATE_*`` variable; the app factory and the CLI receive a
:class:`Settings` and pass it down, so nothing else looks at ``os.environ``.

    >>> s = Settings.from_env({"GATE_ENGINE": "opa", "GATE_OPA_URL": "http://127.0.0.1:8181"})
    >>> s.engine, s.opa_url
    ('opa', 'http://127.0.0.1:8181')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.api.settings import ApiSettings
from gate.attest.settings import AttestSettings
from gate.audit.settings import AuditSettings
from gate.envparse import fields_from_env
from gate.errors import ConfigError
from gate.facts.provenance.settings import TrustSettings
from gate.policy.interpreter import BINDINGS
from gate.policy.loader import default_policy_dir
from gate.webhook.settings import WebhookSettings

if TYPE_CHECKING:
    from gate.facts.google import GoogleEndpoint

ENGINES = ("embedded", "opa")
SCAN_SOURCES = ("artifact-analysis", "none")
FIXABILITY = ("any", "all")


@dataclass(frozen=True)
class Settings:
    policies: Path = field(default_factory=default_policy_dir)
    data_overrides: tuple[Path, ...] = ()
    engine: str = "embedded"
    regorus_binding: str = "auto"  # the embedded engine's: auto, gate_regorus or regorus
    opa_url: str = "http://127.0.0.1:8181"
    opa_token: str = ""
    opa_ca_file: str = ""
    opa_push_policies: bool = True
    opa_timeout: float = 5.0
    reload_interval: float = 2.0
    webhook: WebhookSettings = field(default_factory=WebhookSettings)  # gate serve; GATE_* in it
    attest: AttestSettings = field(default_factory=AttestSettings)  # gate attest/verify
    api: ApiSettings = field(default_factory=ApiSettings)  # the /v1 signing API (GATE_API_*)
    audit: AuditSettings = field(default_factory=AuditSettings)  # gate audit (GATE_AUDIT_*)
    # Image facts: the registry.
    docker_config: str = (
        ""  # config.json for registry credentials; default DOCKER_CONFIG or ~/.docker
    )
    insecure_registries: tuple[str, ...] = ()  # host[:port] reached over plain HTTP (local trials)
    registry_ca_bundle: str = ""
    platforms: tuple[str, ...] = ()  # os/arch[/variant] to check; empty: every platform
    fetch_timeout: float = 60.0  # the CLI's deadline for gathering one image's facts
    # Image facts: the vulnerability scan.
    scan_source: str = "artifact-analysis"
    artifact_analysis_endpoint: str = ""  # host[:port]; empty: containeranalysis.googleapis.com
    artifact_analysis_project: str = ""  # empty: the image's own project
    scan_wait: float = 0.0  # seconds to wait for a running scan to finish
    fixability: str = "any"  # a finding is fixable when any (or all) of its package issues is
    google_ca_file: str = ""
    google_plaintext: bool = False  # local test servers only
    google_anonymous: bool = False  # local test servers only
    # Image facts: provenance and signatures (GATE_TRUSTED_KEYS, GATE_SIGSTORE_TRUSTED_ROOT, …).
    trust: TrustSettings = field(default_factory=TrustSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = fields_from_env(cls, env)
        values["docker_config"] = values.get("docker_config") or _docker_config(env)
        if env.get("GATE_POLICIES"):
            values["policies"] = Path(env["GATE_POLICIES"])
        if env.get("GATE_DATA"):
            values["data_overrides"] = tuple(
                Path(p) for p in env["GATE_DATA"].split(os.pathsep) if p
            )
        values["webhook"] = WebhookSettings.from_env(env)
        values["attest"] = AttestSettings.from_env(env)
        values["api"] = ApiSettings.from_env(env)
        values["audit"] = AuditSettings.from_env(env)
        values["trust"] = TrustSettings.from_env(env)
        return cls(**values).validated()

    def validated(self) -> Settings:
        for name, value, allowed in (
            ("engine", self.engine, ENGINES),
            ("regorus binding", self.regorus_binding, BINDINGS),
            ("scan source", self.scan_source, SCAN_SOURCES),
            ("fixability", self.fixability, FIXABILITY),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"unknown {name} {value!r}", hint=f"choose one of {', '.join(allowed)}"
                )
        return self

    def google_endpoint(self, api_endpoint: str) -> GoogleEndpoint:
        """A Google API at ``api_endpoint`` ("" for its public host) with these settings'
        TLS and credential choices."""
        from gate.facts.google import GoogleEndpoint  # grpc and google-auth: only when used

        return GoogleEndpoint(
            api_endpoint=api_endpoint,
            plaintext=self.google_plaintext,
            anonymous=self.google_anonymous,
            ca_file=self.google_ca_file,
        ).validated()

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (CLI flags over environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None}).validated()


def _docker_config(env: Mapping[str, str]) -> str:
    """Docker's own lookup: $DOCKER_CONFIG/config.json, else ~/.docker/config.json, if present."""
    folder = env.get("DOCKER_CONFIG")
    path = Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"
    return str(path) if path.is_file() else ""
