"""/mutate's settings (GATE_MUTATE, GATE_MUTATE_NAMESPACES, GATE_MUTATE_REPOSITORIES,
GATE_MUTATE_KEEP_TAG), the app's one registry client shared by facts and pinning, the
pin counter in /metrics, and the usage examples of the pinning modules."""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from gate.config import Settings
from gate.errors import ConfigError
from gate.facts.registry import ClientOptions, RegistryClient
from gate.facts.sources import FetchedFacts
from gate.policy.interface import Engine
from gate.webhook.app import create_app
from gate.webhook.facts import TrialFacts
from gate.webhook.settings import WebhookSettings
from tests.webhook.conftest import _APPS, CountingFacts
from tests.webhook.reviews import review, workload
from tests.webhook.test_mutate import APP, V1, FakeRegistry, build, mutate_reply, ops_of


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    yield FakeRegistry({f"{APP}:v1": V1, f"{APP}-other:v1": V1})


def test_the_settings_are_read_from_the_environment() -> None:
    settings = WebhookSettings.from_env(
        {
            "GATE_MUTATE": "false",
            "GATE_MUTATE_NAMESPACES": "dev=on, prod=off",
            "GATE_MUTATE_REPOSITORIES": "us-docker.pkg.dev/p/**,eu.gcr.io/p/app",
            "GATE_MUTATE_KEEP_TAG": "no",
        }
    )
    assert settings.mutate is False and settings.mutate_keep_tag is False
    assert settings.mutate_namespaces == (("dev", "on"), ("prod", "off"))
    assert settings.mutate_repositories == ("us-docker.pkg.dev/p/**", "eu.gcr.io/p/app")
    defaults = WebhookSettings()
    assert defaults.mutate and defaults.mutate_keep_tag and not defaults.mutate_repositories


@pytest.mark.parametrize(
    ("changes", "wording"),
    [
        ({"mutate_namespaces": (("dev", "maybe"),)}, "dev=maybe is not on/off"),
        ({"mutate_repositories": ("library/nginx",)}, "GATE_MUTATE_REPOSITORIES: pattern"),
    ],
)
def test_bad_settings_stop_the_app(
    engine: Engine, any_digest_facts: TrialFacts, changes: dict[str, Any], wording: str
) -> None:
    with pytest.raises(ConfigError, match=wording):
        build(engine, any_digest_facts, None, **changes)


@pytest.mark.parametrize(
    ("changes", "pinned"),
    [
        ({"mutate": False}, {"default": False, "dev": False}),
        ({"mutate": False, "mutate_namespaces": (("dev", "on"),)}, {"default": False, "dev": True}),
        ({"mutate_namespaces": (("dev", "off"),)}, {"default": True, "dev": False}),
    ],
)
def test_mutation_on_and_off_per_namespace(
    engine: Engine,
    any_digest_facts: TrialFacts,
    fake: FakeRegistry,
    changes: dict[str, Any],
    pinned: dict[str, bool],
) -> None:
    client = build(engine, any_digest_facts, fake, **changes).test_client()
    for namespace, expected in pinned.items():
        body = review(workload("Pod", f"{APP}:v1"), namespace=namespace)
        assert bool(ops_of(mutate_reply(client, body))) is expected, namespace


def test_only_the_listed_repositories_are_resolved(
    engine: Engine, any_digest_facts: TrialFacts, fake: FakeRegistry
) -> None:
    client = build(engine, any_digest_facts, fake, mutate_repositories=(f"{APP}",)).test_client()
    response = mutate_reply(client, review(workload("Pod", f"{APP}:v1", f"{APP}-other:v1")))
    assert ops_of(response) == [
        {"op": "replace", "path": "/spec/containers/0/image", "value": f"{APP}:v1@{V1}"}
    ]
    assert "warnings" not in response and fake.resolved == [f"{APP}:v1"]


def test_the_app_builds_one_registry_client_for_facts_and_pinning() -> None:
    app = create_app(Settings(scan_source="none"))
    _APPS.append(app)
    fetched = app.extensions["gate"].evaluator.facts.inner
    assert isinstance(fetched, FetchedFacts)
    assert app.extensions["gate.mutate"].pinner.resolver is fetched.registry


def test_a_given_client_serves_both(engine: Engine) -> None:
    client = RegistryClient(ClientOptions(approved=("*-docker.pkg.dev/**",)))
    app = build(engine, FetchedFacts(RegistryClient(ClientOptions(approved=()))), client)
    fetched = app.extensions["gate"].evaluator.facts.inner
    assert fetched.registry is client and app.extensions["gate.mutate"].pinner.resolver is client
    with pytest.raises(TypeError, match="one RegistryClient"):
        build(engine, FetchedFacts(client), FakeRegistry({}))


def test_trial_facts_leave_pinning_without_a_client(
    engine: Engine, any_digest_facts: TrialFacts
) -> None:
    counting = CountingFacts(any_digest_facts)
    client = build(engine, counting, None).test_client()
    response = mutate_reply(client, review(workload("Pod", f"{APP}:v1")))
    assert "patch" not in response and "no registry client" in response["warnings"][0]
    assert counting.asked == []


def test_pins_are_counted_in_metrics(
    engine: Engine, any_digest_facts: TrialFacts, fake: FakeRegistry
) -> None:
    client = build(engine, any_digest_facts, fake).test_client()
    mutate_reply(client, review(workload("Pod", f"{APP}:v1", f"{APP}:gone", f"{APP}@{V1}")))
    text = client.get("/metrics").get_data(as_text=True)
    for result in ("pinned", "unresolved", "digest"):
        assert f'gate_image_pins_total{{result="{result}"}} 1.0' in text, result


@pytest.mark.parametrize("name", ["gate.webhook.pinning", "gate.webhook.mutate"])
def test_the_usage_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
