"""``GATE_API_*`` settings: parsed with the repository's env pattern, refused with a hint
when they cannot work, and checked against the attest settings when the app is built."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gate.api.settings import GOOGLE_ISSUERS, GOOGLE_JWKS_URL, ApiSettings
from gate.api.state import build_state, offered_keys
from gate.attest.settings import AttestSettings
from gate.config import Settings
from gate.errors import ConfigError
from gate.facts.local import LocalFacts
from gate.policy.interface import Engine
from gate.webhook.settings import WebhookSettings

ENABLED = {"GATE_API_AUDIENCE": "https://gate.example.com", "GATE_API_CALLERS": "a@b.example"}


def test_every_variable_is_read() -> None:
    env = {
        **ENABLED,
        "GATE_API_ISSUERS": "https://accounts.google.com",
        "GATE_API_JWKS_URL": "http://127.0.0.1:9000/certs",
        "GATE_API_JWKS_CA_FILE": "/ca.pem",
        "GATE_API_CLOCK_SKEW": "10",
        "GATE_API_ATTESTORS": "projects/p/attestors/a=pkcs11:token=gate;object=k",
        "GATE_API_ATTESTOR_CALLERS": "projects/p/attestors/a=a@b.example,projects/p/attestors/a=*@c.example",
        "GATE_API_MAX_BODY": "4096",
        "GATE_API_TIMEOUT": "30",
        "GATE_API_CALLER_CONCURRENCY": "3",
        "GATE_API_MAX_IN_FLIGHT": "6",
        "GATE_API_ONLY": "true",
    }
    s = Settings.from_env(env).api
    assert s.enabled and s.only and s.issuers == ("https://accounts.google.com",)
    assert s.attestors == (("projects/p/attestors/a", "pkcs11:token=gate;object=k"),)
    assert s.callers_of("projects/p/attestors/a") == ("a@b.example", "*@c.example")
    assert (s.clock_skew, s.max_body, s.timeout, s.caller_concurrency, s.max_in_flight) == (
        10.0, 4096, 30.0, 3, 6,
    )  # fmt: skip


def test_defaults_are_google_and_off() -> None:
    s = Settings.from_env({}).api
    assert not s.enabled and s.issuers == GOOGLE_ISSUERS and s.jwks_url == GOOGLE_JWKS_URL


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GATE_API_AUDIENCE": "x"}, "GATE_API_CALLERS is empty"),
        ({**ENABLED, "GATE_API_JWKS_URL": "http://keys.example/certs"}, "must be https"),
        ({**ENABLED, "GATE_API_CLOCK_SKEW": "3600"}, "outside"),
        ({**ENABLED, "GATE_API_CALLERS": "example.com"}, "neither an email nor *@domain"),
        ({**ENABLED, "GATE_API_CALLERS": "*.example.com"}, "neither"),
        ({**ENABLED, "GATE_API_ATTESTORS": "projects/p/attestors/a"}, "not KEY=VALUE"),
        ({**ENABLED, "GATE_API_MAX_IN_FLIGHT": "0"}, "outside"),
        ({**ENABLED, "GATE_API_TIMEOUT": "soon"}, "not a number"),
    ],
)
def test_settings_that_cannot_work_are_refused(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("*", r"\*")):
        Settings.from_env(env)


def test_the_attest_settings_attestor_is_offered_too() -> None:
    settings = Settings(
        attest=AttestSettings(attestor="projects/p/attestors/a", key="gcpkms://k"),
        api=ApiSettings(attestors=(("projects/p/attestors/b", "gcpkms://l"),)),
    )
    assert offered_keys(settings) == {
        "projects/p/attestors/b": "gcpkms://l",
        "projects/p/attestors/a": "gcpkms://k",
    }


def test_callers_for_an_attestor_not_offered_are_refused(engine: Engine) -> None:
    api = replace(ApiSettings(), attestor_callers=(("projects/p/attestors/typo", "a@b.example"),))
    with pytest.raises(ConfigError, match="does not offer: projects/p/attestors/typo"):
        build_state(Settings(api=api), engine=engine, facts=LocalFacts())


def test_the_api_cannot_take_every_request_thread(engine: Engine) -> None:
    api = ApiSettings.from_env({**ENABLED, "GATE_API_MAX_IN_FLIGHT": "16"})
    with pytest.raises(ConfigError, match="GATE_THREADS"):
        build_state(Settings(api=api), engine=engine, facts=LocalFacts())
    settings = Settings(api=api, webhook=WebhookSettings(threads=32))
    assert build_state(settings, engine=engine, facts=LocalFacts()).verifier is not None
