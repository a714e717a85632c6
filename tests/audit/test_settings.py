"""The audit's settings: GATE_AUDIT_* and the kubeconfig, refused with a hint when wrong."""

from __future__ import annotations

import pytest

from gate.audit.settings import AuditSettings
from gate.config import Settings
from gate.errors import ConfigError


def test_defaults_run_once_with_policy_reports_and_events() -> None:
    s = Settings.from_env({}).audit
    assert (s.interval, s.reports, s.events, s.concurrency) == (0.0, "policyreport", True, 8)
    assert (
        AuditSettings.from_env({"GATE_AUDIT_FACTS_CACHE_BYTES": "1024"}).facts_cache_bytes == 1024
    )


@pytest.mark.parametrize(
    ("every", "seconds"), [("3600", 3600.0), ("1h", 3600.0), ("30m", 1800.0), ("1h30m", 5400.0)]
)
def test_every_takes_durations(every: str, seconds: float) -> None:
    assert AuditSettings.from_env({"GATE_AUDIT_EVERY": every}).interval == seconds


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"GATE_AUDIT_EVERY": "hourly"}, "not a duration"),
        ({"GATE_AUDIT_EVERY": "0.5s"}, "shorter than"),
        ({"GATE_AUDIT_REPORTS": "polr"}, "unknown report kind"),
        ({"GATE_AUDIT_CONCURRENCY": "0"}, "at least 1"),
        ({"GATE_AUDIT_TIMEOUT": "0"}, "more than 0"),
        ({"GATE_AUDIT_EVENTS": "maybe"}, "not a boolean"),
        ({"GATE_AUDIT_FACTS_CACHE_BYTES": "-1"}, "FACTS_CACHE_BYTES must not be negative"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        AuditSettings.from_env(env)


def test_the_kubeconfig_comes_from_gate_kubeconfig_then_kubeconfig() -> None:
    assert AuditSettings.from_env({"KUBECONFIG": "/a:/b"}).kubeconfig == "/a:/b"
    both = {"KUBECONFIG": "/a", "GATE_KUBECONFIG": "/g", "GATE_KUBE_CONTEXT": "prod"}
    s = AuditSettings.from_env(both)
    assert (s.kubeconfig, s.kube_context) == ("/g", "prod")
