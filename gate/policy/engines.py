"""Pick the engine that the settings name.

>>> from gate.config import Settings
>>> create_engine(Settings(engine="opa", opa_push_policies=False)).name
'opa'
"""

from __future__ import annotations

from gate.config import Settings
from gate.policy.embedded import EmbeddedEngine
from gate.policy.interface import Engine
from gate.policy.source import PolicySource


def policy_source(settings: Settings) -> PolicySource:
    """The policy folder or bundle and the data overrides that the settings name."""
    return PolicySource(
        settings.policies, settings.data_overrides, interval=settings.reload_interval
    )


def create_engine(settings: Settings, source: PolicySource | None = None) -> Engine:
    """The embedded engine, or an OPA engine (pushing the policies unless told not to).

    Raises ``ConfigError`` for inconsistent settings and ``EngineError`` when the embedded
    engine cannot compile the policies; the OPA engine contacts OPA on first use only.
    ``source`` is the settings' policy source when the caller already loaded it.
    """
    if settings.engine != "opa":
        return EmbeddedEngine(source or policy_source(settings), settings.regorus_binding)
    from gate.policy.opa import OpaEngine  # the client and its HTTP stack: only for OPA

    push = settings.opa_push_policies
    return OpaEngine(
        settings.opa_url,
        (source or policy_source(settings)) if push else None,
        token=settings.opa_token,
        ca_file=settings.opa_ca_file,
        timeout=settings.opa_timeout,
        push=push,
        refresh=settings.reload_interval,
    )
