"""/mutate and /validate against a real registry (Debian's docker-registry on 127.0.0.1):
tags pushed, pinned, admitted; a tag moved to a non-compliant image between admissions
(the change shows only after the resolution TTL, and the facts checked are always the
pinned digest's); every kind; unknown tags; an unapproved registry that sees no request;
dryRun; and ``gate serve`` over HTTPS, where /validate logs the digest /mutate pinned, and
where an image whose facts it has is decided while a stalled registry holds its pool."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gate.config import Settings
from gate.facts.registry import ClientOptions, RegistryClient, TransportOptions
from gate.facts.registry.cache import TagCache
from gate.facts.sources import FetchedFacts
from gate.policy.engines import create_engine
from gate.webhook.app import create_app
from gate.webhook.facts import TrialFacts
from tests.conftest import require, require_module, require_tool
from tests.integration.oci_push import Pusher, canonical, image_config, push_image
from tests.integration.registry_server import RegistryServer
from tests.webhook.conftest import _APPS, CountingFacts, answer
from tests.webhook.reviews import KINDS, review, workload
from tests.webhook.test_mutate import images, mutate_reply, ops_of, patched

pytestmark = pytest.mark.integration
TTL = 30.0
LABELS = {
    "org.opencontainers.image.source": "https://example.com/acme/app",
    "org.opencontainers.image.revision": "abc123",
}


def start(folder: Path) -> RegistryServer:
    server = RegistryServer(require_tool("docker-registry", "GATE_DOCKER_REGISTRY"), folder)
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        require(False, f"cannot start docker-registry: {exc}")
        raise AssertionError("unreachable") from exc


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def push(server: RegistryServer, repo: str, tag: str, *, compliant: bool) -> str:
    """Push an image as ``repo:tag``: compliant (labels, made yesterday) or without labels."""
    config = json.loads(image_config(user="65532", labels=LABELS if compliant else {}))
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    config["created"] = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
    return push_image(Pusher(server.url), repo, canonical(config), tag=tag).digest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Gate:
    """An app on the real registry: one client (tag cache on ``clock``) for facts and pins."""

    def __init__(self, server: RegistryServer, folder: Path, scan: Any, **changes: Any) -> None:
        data = folder / "approve.json"
        approved = [f"{server.host}/**"]
        data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": approved}}}}))
        settings = Settings(data_overrides=(data,))
        options = ClientOptions(
            approved=tuple(approved), transport=TransportOptions(insecure_hosts=(server.host,))
        )
        self.clock = Clock()
        self.registry = RegistryClient(options)
        self.registry.tags = TagCache(TTL, clock=self.clock)
        self.facts = CountingFacts(FetchedFacts(registry=self.registry, report=scan))
        app = create_app(
            settings, engine=create_engine(settings), facts=self.facts, registry=self.registry
        )
        _APPS.append(app)
        self.client: FlaskClient = app.test_client()

    def pin(self, obj: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return patched(obj, mutate_reply(self.client, review(obj, **kw)))

    def validate(self, obj: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = answer(self.client, review(obj))["response"]
        return response


@pytest.fixture
def gate(registry: RegistryServer, tmp_path: Path, any_digest_facts: TrialFacts) -> Gate:
    assert any_digest_facts.metadata is not None
    return Gate(registry, tmp_path, any_digest_facts.metadata.vulnerabilities)


class Decisions(logging.Handler):
    """The digests of gate's decision lines (logger ``gate.decision``)."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        self.digests += [image["digest"] for image in fields.get("images", [])]


@pytest.fixture
def decisions() -> Iterator[Decisions]:
    handler, logger = Decisions(), logging.getLogger("gate.decision")
    saved = logger.level, logger.disabled  # another test may have configured logging
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(saved[0])
    logger.disabled = saved[1]


def test_a_deployment_is_pinned_to_the_tags_digest_and_admitted(
    gate: Gate, registry: RegistryServer, decisions: Decisions
) -> None:
    v1 = push(registry, "acme/first", "v1", compliant=True)
    image = f"{registry.host}/acme/first:v1"
    pinned = gate.pin(workload("Deployment", image))
    assert images(pinned) == {"app0": f"{image}@{v1}"}
    admitted = gate.validate(pinned)
    assert admitted["allowed"] is True, admitted
    assert gate.facts.asked == [f"{image}@{v1}"] and decisions.digests == [v1]
    registry.settle()
    assert registry.count("HEAD", "/v2/acme/first/manifests/v1") == 1  # /validate never asked
    assert registry.count("GET", f"/v2/acme/first/manifests/{v1}") == 1


def test_a_moved_tag_changes_new_admissions_only_after_the_ttl(
    gate: Gate, registry: RegistryServer, decisions: Decisions
) -> None:
    image = f"{registry.host}/acme/moving:v1"
    good = push(registry, "acme/moving", "v1", compliant=True)
    first = gate.pin(workload("Deployment", image))
    bad = push(registry, "acme/moving", "v1", compliant=False)  # the tag moves
    gate.clock.now += TTL - 1
    within = gate.pin(workload("Deployment", image))
    assert images(first) == images(within) == {"app0": f"{image}@{good}"}
    assert gate.validate(within)["allowed"] is True
    gate.clock.now += 2  # the resolution TTL is over
    after = gate.pin(workload("Deployment", image))
    assert images(after) == {"app0": f"{image}@{bad}"}
    denied = gate.validate(after)
    assert denied["allowed"] is False and "GATE-IMG-005" in denied["status"]["message"]
    assert f"{image}@{bad}" in denied["status"]["message"]
    assert gate.validate(first)["allowed"] is True  # the good digest is still the good image
    assert gate.facts.asked == [f"{image}@{good}", f"{image}@{bad}"]
    assert decisions.digests == [good, bad, good]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind(gate: Gate, registry: RegistryServer, kind: str) -> None:
    v1 = push(registry, "acme/kinds", "v1", compliant=True)
    side = push(registry, "acme/kinds-side", "2.0", compliant=True)
    app, other = f"{registry.host}/acme/kinds:v1", f"{registry.host}/acme/kinds-side:2.0"
    obj = workload(kind, app, init=(other,), ephemeral=(app,))
    pinned = gate.pin(obj)
    assert images(pinned) == {
        "app0": f"{app}@{v1}",
        "init0": f"{other}@{side}",
        "debug0": f"{app}@{v1}",
    }
    assert gate.validate(pinned)["allowed"] is True


def test_an_unknown_tag_is_left_alone_and_denied(gate: Gate, registry: RegistryServer) -> None:
    push(registry, "acme/unknown", "v1", compliant=True)
    obj = workload("Pod", f"{registry.host}/acme/unknown:nope")
    response = mutate_reply(gate.client, review(obj))
    assert "patch" not in response and "acme/unknown:nope" in response["warnings"][0]
    denied = gate.validate(obj)
    assert denied["allowed"] is False and "GATE-REF-001" in denied["status"]["message"]
    registry.settle()
    assert registry.count("HEAD", "/v2/acme/unknown/manifests/nope", status=404) == 1


def test_an_unapproved_registry_sees_no_request(
    gate: Gate, tmp_path: Path, any_digest_facts: TrialFacts
) -> None:
    elsewhere = start(tmp_path / "elsewhere")
    try:
        push(elsewhere, "acme/app", "v1", compliant=True)
        elsewhere.settle()
        before = len(elsewhere.requests())
        obj = workload("Pod", f"{elsewhere.host}/acme/app:v1")
        response = mutate_reply(gate.client, review(obj))
        assert "patch" not in response and "GATE-REF-002" in response["warnings"][0]
        assert gate.validate(obj)["allowed"] is False
        elsewhere.settle()
        assert len(elsewhere.requests()) == before
    finally:
        elsewhere.stop()


def test_dry_run_is_answered_the_same(gate: Gate, registry: RegistryServer) -> None:
    push(registry, "acme/dry", "v1", compliant=True)
    obj = workload("Job", f"{registry.host}/acme/dry:v1")
    dry = mutate_reply(gate.client, review(obj, dry_run=True))
    wet = mutate_reply(gate.client, review(obj))
    assert ops_of(dry) == ops_of(wet) and len(ops_of(dry)) == 1


def test_served_over_https_validate_checks_the_digest_mutate_pinned(
    registry: RegistryServer, tmp_path: Path
) -> None:
    require_module("trustme")
    from tests.webhook.server import ServedGate, make_tls

    v1 = push(registry, "acme/served", "v1", compliant=True)
    data = tmp_path / "approve.json"
    data.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{registry.host}/**"]}}}})
    )
    env = {
        "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_SCAN_SOURCE": "none",
    }
    log = tmp_path / "gate.log"
    image = f"{registry.host}/acme/served:v1"
    obj = workload("Deployment", image)
    with ServedGate(make_tls(tmp_path), env=env, log=log) as served:
        reply = served.session.post(f"{served.url}/mutate", json=review(obj), timeout=30)
        assert reply.status_code == 200, reply.text
        pinned = patched(obj, reply.json()["response"])
        assert images(pinned) == {"app0": f"{image}@{v1}"}
        assert served.post(review(pinned)).status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    (decision,) = [line for line in lines if line.get("logger") == "gate.decision"]
    assert [i["digest"] for i in decision["images"]] == [v1]
    assert [i["image"] for i in decision["images"]] == [f"{image}@{v1}"]


def test_served_gate_decides_a_known_image_while_a_stalled_registry_holds_its_pool(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """An attacker's registry that accepts and never answers holds gate's only pool thread
    until the budget ends. An image whose facts gate already fetched from the real
    registry is still decided on them, at once (the request's thread evaluates it); the
    stalled image is denied for time."""
    import threading
    import time

    import requests

    from tests.webhook.server import ServedGate, make_tls
    from tests.webhook.test_https import HangingRegistry

    digest = push(registry, "acme/known", "v1", compliant=True)
    hanging = HangingRegistry()
    stalled_host = f"127.0.0.1:{hanging.port}"
    data = tmp_path / "approve.json"
    approved = [f"{registry.host}/**", f"{stalled_host}/**"]
    data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": approved}}}}))
    env = {
        "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": f"{registry.host},{stalled_host}",
        "GATE_SCAN_SOURCE": "none",
        "GATE_POOL_THREADS": "1",
        "GATE_DECISION_CACHE_TTL": "0",
        "GATE_BUDGET_SECONDS": "3",
    }
    known = review(workload("Pod", f"{registry.host}/acme/known@{digest}"))
    stalled = review(workload("Pod", f"{stalled_host}/acme/api@sha256:{'5' * 64}"))
    tls = make_tls(tmp_path)
    held: list[dict[str, Any]] = []
    try:
        with ServedGate(tls, env=env, workers=1, log=tmp_path / "gate.log") as served:
            first = served.post(known).json()["response"]
            assert "time budget" not in first.get("status", {}).get("message", ""), first

            def hold() -> None:
                with requests.Session() as session:
                    session.trust_env, session.verify = False, str(tls.ca)
                    reply = session.post(f"{served.url}/validate", json=stalled, timeout=30)
                    held.append(reply.json()["response"])

            holder = threading.Thread(target=hold)
            holder.start()
            time.sleep(0.5)  # the stalled image has the pool's only thread
            started = time.monotonic()
            again = served.post(known).json()["response"]
            elapsed = time.monotonic() - started
            holder.join(10)
    finally:
        hanging.close()
    assert hanging.held, "gate never contacted the stalled registry"
    assert again["allowed"] == first["allowed"] and elapsed < 1.5, (elapsed, again)
    assert "time budget" not in again.get("status", {}).get("message", ""), again
    (stalled_answer,) = held
    assert not stalled_answer["allowed"] and "time budget" in stalled_answer["status"]["message"]
