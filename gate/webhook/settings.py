"""The admission webhook's settings: one frozen group inside :class:`gate.config.Settings`.

``Settings.from_env`` reads the environment (the only place gate does) and hands the
mapping to :meth:`WebhookSettings.from_env`, which parses the ``GATE_*`` variables below.
Every field is documented in docs/webhook.md.

    >>> s = WebhookSettings.from_env({"GATE_MODE": "warn",
    ...     "GATE_NAMESPACE_MODES": "dev=audit,prod/GATE-IMG-004=warn"})
    >>> s.mode, s.namespace_modes, s.exempt()
    ('warn', (('dev', 'audit'), ('prod/GATE-IMG-004', 'warn')), ('kube-system', 'gate-system'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gate.envparse import fields_from_env
from gate.errors import ConfigError

MODES = ("enforce", "warn", "audit")
MAX_TIMEOUT_SECONDS = 30.0  # the API server's ceiling for a webhook's timeoutSeconds

# What a body costs a worker besides its bytes while it is read (the bridge charges it
# against GATE_MAX_BODIES): the stream's and h11's buffers keep their capacity, and TLS
# its records (measured: 900 connections stalled in a 64 KiB body held 292 KB each more
# than 900 idle ones).
BODY_OVERHEAD = 224 * 1024


@dataclass(frozen=True)
class WebhookSettings:
    mode: str = "enforce"  # GATE_MODE: the default enforcement action
    policy_modes: tuple[tuple[str, str], ...] = ()  # GATE_POLICY_MODES  ID=mode,…
    namespace_modes: tuple[tuple[str, str], ...] = ()  # GATE_NAMESPACE_MODES ns[/ID]=mode,…
    namespace: str = "gate-system"  # GATE_NAMESPACE: gate's own namespace (always exempt)
    exempt_namespaces: tuple[str, ...] = ("kube-system",)  # GATE_EXEMPT_NAMESPACES
    break_glass: bool = True  # GATE_BREAK_GLASS: honour the break-glass annotation
    budget: float = 8.0  # GATE_BUDGET_SECONDS: below the webhook's timeoutSeconds
    fail_open: bool = False  # GATE_FAIL_OPEN: admit (with a warning) on errors and timeouts
    required_attestors: tuple[str, ...] = ()  # GATE_REQUIRED_ATTESTORS: attestation mode
    attestation_endpoint: str = ""  # GATE_ATTESTATION_ENDPOINT: host:port, "" = Google's
    attestation_plaintext: bool = False  # GATE_ATTESTATION_PLAINTEXT: local test servers only
    attestation_cache_ttl: float = 3600.0  # GATE_ATTESTATION_CACHE_TTL (verified digests)
    facts_cache_size: int = 20_000  # GATE_FACTS_CACHE_SIZE
    facts_cache_ttl: float = 300.0  # GATE_FACTS_CACHE_TTL
    facts_cache_bytes: int = 64 * 1024 * 1024  # GATE_FACTS_CACHE_BYTES: per worker, in all
    decision_cache_size: int = 20_000  # GATE_DECISION_CACHE_SIZE
    decision_cache_ttl: float = 10.0  # GATE_DECISION_CACHE_TTL (0 turns it off)
    mutate: bool = True  # GATE_MUTATE: POST /mutate pins tags to digests (false: no patch)
    mutate_namespaces: tuple[tuple[str, str], ...] = ()  # GATE_MUTATE_NAMESPACES ns=on|off,…
    mutate_repositories: tuple[str, ...] = ()  # GATE_MUTATE_REPOSITORIES: patterns ("": all)
    mutate_keep_tag: bool = True  # GATE_MUTATE_KEEP_TAG: name:tag@digest (false: name@digest)
    trial_metadata: str = ""  # GATE_TRIAL_METADATA: local facts for trials and tests only
    trial_scan: str = ""  # GATE_TRIAL_SCAN: a Trivy/Grype report for trials and tests only
    bind: str = "0.0.0.0:8443"  # GATE_BIND
    tls_cert: str = ""  # GATE_TLS_CERT
    tls_key: str = ""  # GATE_TLS_KEY
    insecure_http: bool = False  # GATE_INSECURE_HTTP: plain HTTP, for local trials only
    workers: int = 2  # GATE_WORKERS: gunicorn worker processes
    threads: int = 16  # GATE_THREADS: request threads per worker
    header_timeout: float = 5.0  # GATE_HEADER_TIMEOUT: headers (and TLS handshake, idle) deadline
    body_timeout: float = 5.0  # GATE_BODY_TIMEOUT: the body's deadline after the headers
    max_body: int = 16 * 1024 * 1024  # GATE_MAX_BODY: bytes, sized or chunked
    max_bodies: int = 64 * 1024 * 1024  # GATE_MAX_BODIES: bytes of bodies a worker holds at once
    max_connections: int = 1000  # GATE_MAX_CONNECTIONS: open connections per worker
    metrics_bind: str = ""  # GATE_METRICS_BIND: /metrics on a port of its own (plain HTTP)
    pool_threads: int = 8  # GATE_POOL_THREADS: image evaluations in flight per worker
    metrics_dir: str = ""  # GATE_METRICS_DIR: prometheus multiprocess folder (serve sets one)
    log_level: str = "INFO"  # GATE_LOG_LEVEL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        """Parse the ``GATE_*`` variables named beside each field; ConfigError on a bad one."""
        return cls(**fields_from_env(cls, env, ENV_NAMES)).validated()

    def validated(self) -> WebhookSettings:
        modes = [self.mode, *(m for _, m in self.policy_modes + self.namespace_modes)]
        for mode in modes:
            if mode not in MODES:
                raise ConfigError(
                    f"unknown enforcement mode {mode!r}", hint=f"choose one of {', '.join(MODES)}"
                )
        if not 0 < self.budget < MAX_TIMEOUT_SECONDS:
            raise ConfigError(
                f"GATE_BUDGET_SECONDS={self.budget} is outside (0, 30)",
                hint="keep it about 2 s below the webhook's timeoutSeconds (1 to 30)",
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError(
                "GATE_TLS_CERT and GATE_TLS_KEY go together", hint="set both, or neither"
            )
        for name in ("workers", "threads", "pool_threads", "max_connections", "max_body"):
            if getattr(self, name) < 1:
                raise ConfigError(f"GATE_{name.upper()} must be at least 1")
        for name in ("facts_cache_size", "facts_cache_bytes", "decision_cache_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"GATE_{name.upper()} must not be negative (0 keeps nothing)")
        if self.max_bodies < self.max_body + BODY_OVERHEAD:
            raise ConfigError(
                f"GATE_MAX_BODIES={self.max_bodies} is below GATE_MAX_BODY={self.max_body} "
                f"and one body's buffers ({BODY_OVERHEAD} bytes)",
                hint="allow a worker at least one body of the largest size (by default 4)",
            )
        for name in ("header_timeout", "body_timeout"):
            if not 0 < getattr(self, name) <= MAX_TIMEOUT_SECONDS:
                raise ConfigError(
                    f"GATE_{name.upper()}={getattr(self, name)} is outside (0, 30]",
                    hint="a few seconds: the API server sends a review at once",
                )
        if self.metrics_bind and port_of(self.metrics_bind) == port_of(self.bind):
            raise ConfigError(
                f"GATE_METRICS_BIND={self.metrics_bind} uses the webhook's port",
                hint="give /metrics a port of its own (e.g. 0.0.0.0:9090), or leave it unset",
            )
        return self

    def exempt(self) -> tuple[str, ...]:
        """The exempt namespaces: the configured ones and gate's own."""
        own = (self.namespace,) if self.namespace else ()
        return tuple(dict.fromkeys(self.exempt_namespaces + own))


def port_of(bind: str) -> int:
    """The port of a ``host:port`` listen address; ConfigError when there is none."""
    _, _, port = bind.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{bind!r} is not host:port", hint="e.g. 0.0.0.0:9090")
    return int(port)


ENV_NAMES = {"budget": "GATE_BUDGET_SECONDS"}
