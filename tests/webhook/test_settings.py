"""Webhook settings from GATE_* variables, and the serving options built from them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from gate.config import Settings
from gate.errors import ConfigError
from gate.webhook.serve import WORKER, gunicorn_options, prepare
from gate.webhook.settings import WebhookSettings
from gate.webhook.tls import ReloadingContext
from tests.webhook.server import make_tls


def test_every_setting_has_a_variable() -> None:
    env = {
        "GATE_MODE": "warn",
        "GATE_POLICY_MODES": "GATE-IMG-004=audit, labels=warn",
        "GATE_NAMESPACE_MODES": "dev=audit,prod/GATE-IMG-005=enforce",
        "GATE_NAMESPACE": "gate",
        "GATE_EXEMPT_NAMESPACES": "kube-system,kube-public",
        "GATE_BREAK_GLASS": "false",
        "GATE_BUDGET_SECONDS": "4.5",
        "GATE_FAIL_OPEN": "yes",
        "GATE_REQUIRED_ATTESTORS": "projects/p/attestors/ci",
        "GATE_FACTS_CACHE_SIZE": "50",
        "GATE_FACTS_CACHE_BYTES": "1048576",
        "GATE_DECISION_CACHE_TTL": "0",
        "GATE_TRIAL_METADATA": "m.json",
        "GATE_BIND": "127.0.0.1:9443",
        "GATE_TLS_CERT": "c.pem",
        "GATE_TLS_KEY": "k.pem",
        "GATE_WORKERS": "3",
        "GATE_THREADS": "4",
        "GATE_HEADER_TIMEOUT": "2.5",
        "GATE_BODY_TIMEOUT": "3",
        "GATE_MAX_BODY": "1048576",
        "GATE_MAX_CONNECTIONS": "50",
        "GATE_METRICS_BIND": "0.0.0.0:9090",
    }
    s = Settings.from_env(env).webhook
    assert (s.mode, s.policy_modes) == ("warn", (("GATE-IMG-004", "audit"), ("labels", "warn")))
    assert s.namespace_modes == (("dev", "audit"), ("prod/GATE-IMG-005", "enforce"))
    assert s.exempt() == ("kube-system", "kube-public", "gate")
    assert (s.break_glass, s.budget, s.fail_open) == (False, 4.5, True)
    assert s.required_attestors == ("projects/p/attestors/ci",)
    assert (s.facts_cache_size, s.decision_cache_ttl, s.trial_metadata) == (50, 0.0, "m.json")
    assert s.facts_cache_bytes == 1048576
    assert (s.bind, s.tls_cert, s.tls_key, s.workers, s.threads) == (
        "127.0.0.1:9443",
        "c.pem",
        "k.pem",
        3,
        4,
    )
    assert (s.header_timeout, s.body_timeout, s.max_body, s.max_connections) == (
        2.5,
        3.0,
        1048576,
        50,
    )
    assert s.metrics_bind == "0.0.0.0:9090"
    assert Settings.from_env({}).webhook == WebhookSettings()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GATE_MODE": "dryrun"}, "unknown enforcement mode 'dryrun'"),
        ({"GATE_NAMESPACE_MODES": "dev"}, "is not KEY=VALUE"),
        ({"GATE_BUDGET_SECONDS": "30"}, "outside (0, 30)"),
        ({"GATE_BUDGET_SECONDS": "soon"}, "is not a number"),
        ({"GATE_FAIL_OPEN": "perhaps"}, "is not a boolean"),
        ({"GATE_WORKERS": "0"}, "GATE_WORKERS must be at least 1"),
        ({"GATE_THREADS": "two"}, "is not a whole number"),
        ({"GATE_TLS_CERT": "c.pem"}, "go together"),
        ({"GATE_HEADER_TIMEOUT": "0"}, "GATE_HEADER_TIMEOUT=0.0 is outside (0, 30]"),
        ({"GATE_BODY_TIMEOUT": "60"}, "GATE_BODY_TIMEOUT=60.0 is outside (0, 30]"),
        ({"GATE_MAX_CONNECTIONS": "0"}, "GATE_MAX_CONNECTIONS must be at least 1"),
        ({"GATE_MAX_BODY": "-1"}, "GATE_MAX_BODY must be at least 1"),
        ({"GATE_FACTS_CACHE_BYTES": "-1"}, "GATE_FACTS_CACHE_BYTES must not be negative"),
        ({"GATE_METRICS_BIND": "0.0.0.0:8443"}, "uses the webhook's port"),
        ({"GATE_METRICS_BIND": "metrics"}, "is not host:port"),
    ],
)
def test_bad_values_are_config_errors(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert expected in caught.value.message


def test_serving_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # prepare() sets it; restored after
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its metrics folder goes there
    tls = make_tls(tmp_path)
    settings = Settings(
        webhook=WebhookSettings(tls_cert=str(tls.cert), tls_key=str(tls.key), workers=3, threads=5)
    )
    options = gunicorn_options(settings)
    assert (options["worker_class"], options["workers"]) == (WORKER, 3)
    assert "certfile" not in options  # the worker serves TLS itself (gate.webhook.tls)
    assert options["control_socket_disable"] is True and options["accesslog"] is None
    prepared = prepare(settings)
    assert Path(prepared.webhook.metrics_dir).parent == tmp_path


def test_serving_refuses_missing_tls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a TLS certificate"):
        prepare(Settings())
    missing = WebhookSettings(tls_cert=str(tmp_path / "no.crt"), tls_key=str(tmp_path / "no.key"))
    with pytest.raises(ConfigError, match="not found"):
        prepare(Settings(webhook=missing))


def test_a_broken_rotation_keeps_the_old_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls = make_tls(tmp_path)
    monkeypatch.setattr("gate.webhook.tls.RELOAD_CHECK_SECONDS", 0.0)
    reloading = ReloadingContext(str(tls.cert), str(tls.key))
    before = reloading.get()
    tls.key.write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    assert reloading.get() is before
    other = make_tls(tmp_path, "other")
    tls.key.write_bytes(other.key.read_bytes())
    tls.cert.write_bytes(other.cert.read_bytes())
    assert reloading.get() is not before
