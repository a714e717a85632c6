"""The audit's settings: one frozen group inside :class:`gate.config.Settings`.

``gate audit`` also reads the webhook's settings (modes, exempt namespaces, break-glass,
required attestors): the audit judges a running workload as admission would. The
variables below are the audit's own (docs/audit.md).

    >>> s = AuditSettings.from_env({"GATE_AUDIT_EVERY": "1h", "GATE_AUDIT_REPORTS": "openreports"})
    >>> s.interval, s.reports
    (3600.0, 'openreports')
    >>> parse_duration("GATE_AUDIT_EVERY", "90s"), parse_duration("GATE_AUDIT_EVERY", "1h30m")
    (90.0, 5400.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gate.envparse import fields_from_env
from gate.errors import ConfigError

REPORT_KINDS = ("policyreport", "openreports", "none")
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")
MIN_INTERVAL = 1.0


@dataclass(frozen=True)
class AuditSettings:
    every: str = ""  # GATE_AUDIT_EVERY: "" runs once; 1h, 30m, 90s, 3600 run continuously
    kubeconfig: str = ""  # GATE_KUBECONFIG (else KUBECONFIG, in-cluster, ~/.kube/config)
    kube_context: str = ""  # GATE_KUBE_CONTEXT: a kubeconfig context other than the current
    reports: str = "policyreport"  # GATE_AUDIT_REPORTS: policyreport | openreports | none
    events: bool = True  # GATE_AUDIT_EVENTS: an Event on a workload whose status changes
    concurrency: int = 8  # GATE_AUDIT_CONCURRENCY: images judged at once (registry, scanner)
    api_concurrency: int = 4  # GATE_AUDIT_API_CONCURRENCY: report and event writes at once
    page_size: int = 500  # GATE_AUDIT_PAGE_SIZE: objects per list page
    api_timeout: float = 30.0  # GATE_AUDIT_API_TIMEOUT: seconds per Kubernetes API request
    timeout: float = 600.0  # GATE_AUDIT_TIMEOUT: seconds to judge every image of one run
    metrics_bind: str = ""  # GATE_AUDIT_METRICS_BIND: /metrics and /healthz (continuous runs)
    registry_cache_entries: int = 20_000  # GATE_AUDIT_REGISTRY_CACHE_ENTRIES (by digest)
    registry_cache_bytes: int = 256 * 1024 * 1024  # GATE_AUDIT_REGISTRY_CACHE_BYTES
    facts_cache_bytes: int = 256 * 1024 * 1024  # GATE_AUDIT_FACTS_CACHE_BYTES: within a run

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuditSettings:
        names = {"kubeconfig": "GATE_KUBECONFIG", "kube_context": "GATE_KUBE_CONTEXT"}
        names |= {
            name: f"GATE_AUDIT_{name.upper()}"
            for name in (
                "every",
                "reports",
                "events",
                "concurrency",
                "api_concurrency",
                "page_size",
                "api_timeout",
                "timeout",
                "metrics_bind",
                "registry_cache_entries",
                "registry_cache_bytes",
                "facts_cache_bytes",
            )
        }
        values = fields_from_env(cls, env, names)
        values.setdefault("kubeconfig", env.get("KUBECONFIG", ""))
        return cls(**values).validated()

    def validated(self) -> AuditSettings:
        if self.reports not in REPORT_KINDS:
            raise ConfigError(
                f"unknown report kind GATE_AUDIT_REPORTS={self.reports!r}",
                hint=f"choose one of {', '.join(REPORT_KINDS)}",
            )
        for name in ("concurrency", "api_concurrency", "page_size", "registry_cache_entries"):
            if getattr(self, name) < 1:
                raise ConfigError(f"GATE_AUDIT_{name.upper()} must be at least 1")
        if self.facts_cache_bytes < 0:
            raise ConfigError("GATE_AUDIT_FACTS_CACHE_BYTES must not be negative (0 keeps nothing)")
        for name in ("api_timeout", "timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"GATE_AUDIT_{name.upper()} must be more than 0 seconds")
        _ = self.interval  # a bad duration fails here, not at the first sleep
        return self

    @property
    def interval(self) -> float:
        """Seconds between runs; 0 when the audit runs once."""
        if not self.every:
            return 0.0
        seconds = parse_duration("GATE_AUDIT_EVERY", self.every)
        if seconds < MIN_INTERVAL:
            raise ConfigError(
                f"GATE_AUDIT_EVERY={self.every!r} is shorter than {MIN_INTERVAL:g} s",
                hint="audit every few minutes or hours, e.g. 1h (Binary Authorization's CV "
                "runs hourly)",
            )
        return seconds


def parse_duration(name: str, text: str) -> float:
    """Seconds in ``text``: ``3600``, ``90s``, ``30m``, ``1h``, ``1h30m``; ConfigError otherwise."""
    found = _DURATION.fullmatch(text.strip())
    if not text.strip() or found is None or not any(found.groups()):
        raise ConfigError(
            f"{name}={text!r} is not a duration", hint="write seconds or e.g. 90s, 30m, 1h, 1h30m"
        )
    hours, minutes, seconds = (float(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + seconds
