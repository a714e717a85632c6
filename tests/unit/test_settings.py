"""Settings from the environment: every group, bad values refused with the variable named."""

from __future__ import annotations

import pytest

from gate.config import Settings
from gate.errors import ConfigError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.engine == "embedded" and settings.scan_source == "artifact-analysis"
    assert settings.attest.mode == "check-and-sign" and settings.webhook.mode == "enforce"


def test_fact_and_attest_variables() -> None:
    settings = Settings.from_env(
        {
            "GATE_INSECURE_REGISTRIES": "127.0.0.1:5000, localhost:5001",
            "GATE_PLATFORMS": "linux/amd64",
            "GATE_SCAN_SOURCE": "none",
            "GATE_FETCH_TIMEOUT": "12.5",
            "GATE_GOOGLE_PLAINTEXT": "true",
            "GATE_ATTESTOR": "projects/p/attestors/a",
            "GATE_ATTEST_KEY": "key.pem",
            "GATE_ATTEST_MODE": "check-only",
            "GATE_GOOGLE_TIMEOUT": "3",
        }
    )
    assert settings.insecure_registries == ("127.0.0.1:5000", "localhost:5001")
    assert settings.platforms == ("linux/amd64",) and settings.scan_source == "none"
    assert settings.fetch_timeout == 12.5 and settings.google_plaintext
    assert (settings.attest.attestor, settings.attest.key, settings.attest.mode) == (
        "projects/p/attestors/a",
        "key.pem",
        "check-only",
    )
    assert settings.attest.google_timeout == 3.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GATE_ENGINE", "wasm", "unknown engine"),
        ("GATE_SCAN_SOURCE", "clair", "unknown scan source"),
        ("GATE_FIXABILITY", "some", "unknown fixability"),
        ("GATE_FETCH_TIMEOUT", "soon", "GATE_FETCH_TIMEOUT"),
        ("GATE_ATTEST_MODE", "sign-anyway", "unknown attest mode"),
        ("GATE_GOOGLE_TIMEOUT", "x", "GATE_GOOGLE_TIMEOUT"),
    ],
)
def test_bad_values_are_config_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_flags_override_the_environment() -> None:
    settings = Settings.from_env({"GATE_ATTESTOR": "projects/p/attestors/a"})
    changed = settings.attest.with_changes(attestor="projects/q/attestors/b", key=None, mode="")
    assert changed.attestor == "projects/q/attestors/b" and changed.mode == "check-and-sign"
