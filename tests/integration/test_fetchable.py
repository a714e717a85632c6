"""Which registries gate contacts is asked of the policy set (``data.gate.main.fetchable``)
through the engine: no Python copy of the exemption rule. A real docker-registry on
127.0.0.1 shows which requests reach it; both engines answer (the case table is in
test_parity.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.cli import main
from gate.config import Settings
from gate.facts.registry import Deadline, RegistryError
from gate.facts.sources import build_registry_client
from gate.policy.embedded import EmbeddedEngine
from gate.policy.opa import OpaEngine
from gate.policy.source import PolicySource
from gate.reference import parse_reference
from tests.integration.oci_push import Pusher, image_config, push_image
from tests.integration.opa_server import OpaServer
from tests.integration.registry_server import RegistryServer
from tests.integration.test_registry_client import binary, started  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:  # noqa: F811
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


def exempting(tmp_path: Path, pattern: str, policies: object) -> Path:
    """Data that approves Artifact Registry only and exempts ``pattern`` from ``policies``."""
    data = tmp_path / "data.json"
    exemption = {"pattern": pattern, "policies": policies, "reason": "mirror, ticket 7"}
    params = {"registries": {"approved": ["us-docker.pkg.dev/**"]}, "exemptions": [exemption]}
    data.write_text(json.dumps({"gate": {"params": params}}))
    return data


def test_a_lone_string_exemption_lets_gate_contact_nothing(
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``"policies": "GATE-REF-002"`` (a string, not a list) covers no policy in main.rego;
    the Python copy this replaced read it as a substring test and let gate resolve the tag."""
    data = exempting(tmp_path, f"{registry.host}/mirror/**", "GATE-REF-002")
    monkeypatch.setenv("GATE_INSECURE_REGISTRIES", registry.host)
    image = f"{registry.host}/mirror/app:1"
    code = main(["verify", image, "--attestor", "projects/p/attestors/a", "--data", str(data)])
    assert code == 2
    assert "not an approved registry; gate will not contact it" in capsys.readouterr().err
    registry.settle()
    assert [r for r in registry.requests() if "/mirror/" in r[1]] == []


def test_an_exemption_of_the_registry_policy_lets_gate_fetch(
    registry: RegistryServer, tmp_path: Path
) -> None:
    pushed = push_image(Pusher(registry.url), "mirror/ok", image_config(user="65532"), tag="1")
    data = exempting(tmp_path, f"{registry.host}/mirror/**", ["GATE-REF-002"])
    settings = Settings(
        data_overrides=(data,), insecure_registries=(registry.host,), scan_source="none"
    )
    client = build_registry_client(
        settings, EmbeddedEngine(PolicySource(settings.policies, (data,)))
    )
    reference = parse_reference(f"{registry.host}/mirror/ok:1")
    assert client.resolve(reference, Deadline.after(10)) == pushed.digest
    with pytest.raises(RegistryError, match="not an approved registry"):
        client.resolve(parse_reference(f"{registry.host}/other/app:1"), Deadline.after(10))


def test_the_client_follows_a_policy_reload(tmp_path: Path) -> None:
    """Asked once per policy set: a changed data file changes what the client may contact,
    without rebuilding it."""
    data = exempting(tmp_path, "mirror.example/**", [])
    source = PolicySource(Settings().policies, (data,), interval=0)
    client = build_registry_client(Settings(), EmbeddedEngine(source))
    assert client.approved() == ("mirror.example/**", "us-docker.pkg.dev/**")
    exempting(tmp_path, "other.example/**", ["GATE-REF-001"])
    assert client.approved() == ("us-docker.pkg.dev/**",)
    client.check_allowed(parse_reference("us-docker.pkg.dev/p/app:1"))
    with pytest.raises(RegistryError, match="not an approved registry"):
        client.check_allowed(parse_reference("mirror.example/app:1"))


def test_an_engine_that_cannot_answer_lets_gate_contact_nothing(tmp_path: Path) -> None:
    engine = OpaEngine("http://127.0.0.1:1", push=False, timeout=1, retries=0)
    client = build_registry_client(Settings(), engine)
    with pytest.raises(RegistryError, match="cannot tell whether gate may contact it") as caught:
        client.check_allowed(parse_reference("us-docker.pkg.dev/p/app:1"))
    assert "cannot reach OPA" in caught.value.message


def test_opa_serving_its_own_bundle_is_asked_again_after_the_refresh(
    opa_server: OpaServer, tmp_path: Path
) -> None:
    """push=False: gate cannot see OPA's policy set change, so it asks again once
    ``refresh`` (GATE_RELOAD_INTERVAL) has passed, and not before."""
    data = exempting(tmp_path, "mirror.example/**", [])
    pusher = OpaEngine(opa_server.url, PolicySource(Settings().policies, (data,)))
    pusher.prepare()
    serving = OpaEngine(opa_server.url, push=False, refresh=3600)
    assert serving.fetchable() == ("mirror.example/**", "us-docker.pkg.dev/**")
    exempting(tmp_path, "other.example/**", [])
    OpaEngine(opa_server.url, PolicySource(Settings().policies, (data,))).prepare()
    assert serving.fetchable() == ("mirror.example/**", "us-docker.pkg.dev/**")  # cached
    assert OpaEngine(opa_server.url, push=False, refresh=0).fetchable() == (
        "other.example/**",
        "us-docker.pkg.dev/**",
    )
