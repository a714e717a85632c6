"""Enforcement modes: what a violation does, per policy and per namespace.

``enforce`` denies, ``warn`` admits with a Kubernetes warning, ``audit`` admits and only
logs (and annotates the audit event), like Gatekeeper's enforcement actions and Kyverno's
namespace overrides. The most specific setting wins:

1. namespace and policy (``GATE_NAMESPACE_MODES=dev/GATE-IMG-004=audit``)
2. namespace (``GATE_NAMESPACE_MODES=dev=warn``)
3. policy (``GATE_POLICY_MODES=GATE-IMG-004=warn``; the policy id or its name, ``freshness``)
4. the default (``GATE_MODE``, ``enforce`` unless set)

Errors (facts unavailable, timeouts, engine failures) belong to no policy: they take the
namespace's mode (2, then 4), and in ``enforce`` they deny unless fail-open is set.

    >>> table = ModeTable.from_settings(WebhookSettings(policy_modes=(("freshness", "warn"),),
    ...     namespace_modes=(("dev", "audit"), ("prod/GATE-IMG-004", "enforce"))))
    >>> [table.for_policy(ns, "GATE-IMG-004", "freshness").value for ns in ("prod", "dev", "x")]
    ['enforce', 'audit', 'warn']
    >>> table.for_errors("dev").value, table.for_errors("x").value
    ('audit', 'enforce')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from gate.webhook.settings import WebhookSettings


class Mode(enum.Enum):
    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


@dataclass(frozen=True)
class ModeTable:
    default: Mode = Mode.ENFORCE
    policies: Mapping[str, Mode] = field(default_factory=dict)
    namespaces: Mapping[str, Mode] = field(default_factory=dict)
    namespace_policies: Mapping[tuple[str, str], Mode] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> ModeTable:
        namespaces: dict[str, Mode] = {}
        scoped: dict[tuple[str, str], Mode] = {}
        for key, mode in settings.namespace_modes:
            namespace, slash, policy = key.partition("/")
            if slash:
                scoped[(namespace, policy)] = Mode(mode)
            else:
                namespaces[namespace] = Mode(mode)
        return cls(
            default=Mode(settings.mode),
            policies={key: Mode(mode) for key, mode in settings.policy_modes},
            namespaces=namespaces,
            namespace_policies=scoped,
        )

    def for_policy(self, namespace: str, policy_id: str, policy: str = "") -> Mode:
        """The mode of a violation of ``policy_id`` (or policy name ``policy``) in ``namespace``."""
        names = [name for name in (policy_id, policy) if name]
        for name in names:
            if (namespace, name) in self.namespace_policies:
                return self.namespace_policies[(namespace, name)]
        if namespace in self.namespaces:
            return self.namespaces[namespace]
        for name in names:
            if name in self.policies:
                return self.policies[name]
        return self.default

    def for_errors(self, namespace: str) -> Mode:
        """The mode of an error, which belongs to no policy: the namespace's, else the default."""
        return self.namespaces.get(namespace, self.default)
