"""POST /mutate in-process: pins every container image of every kind to its digest with a
JSONPatch that the tests apply (jsonpatch) before sending the result to /validate; digests
left alone; unresolvable tags; registries that are not approved (no connection, counted
on a listening socket); dryRun; settings; the one registry client of the app."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
from flask import Flask
from flask.testing import FlaskClient

from gate.config import Settings
from gate.facts.registry import (
    ClientOptions,
    Deadline,
    RegistryClient,
    RegistryError,
    TransportOptions,
)
from gate.policy.engines import create_engine
from gate.policy.interface import Engine
from gate.reference import ImageRef, matches_any
from gate.webhook.app import create_app
from gate.webhook.facts import TrialFacts
from tests.webhook.conftest import _APPS, answer
from tests.webhook.reviews import KINDS, review, workload

APP = "us-docker.pkg.dev/gate-samples/apps/app"
V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
SIDE = "sha256:" + "5" * 64


class FakeRegistry:
    """A :class:`~gate.webhook.pinning.Resolver` over a dict of tags, counting resolutions."""

    def __init__(self, tags: dict[str, str], approved: tuple[str, ...] = ("*-docker.pkg.dev/**",)):
        self.tags, self.approved = tags, approved
        self.resolved: list[str] = []
        self.hang = threading.Event()
        self.hanging = False

    def check_allowed(self, ref: ImageRef) -> None:
        if not matches_any(self.approved, ref.name):
            raise RegistryError.for_ref(ref, "not an approved registry; gate will not contact it")

    def resolve(self, ref: ImageRef, deadline: Deadline) -> str:
        self.resolved.append(ref.normalized)
        if self.hanging:
            self.hang.wait(30)
        key = f"{ref.name}:{ref.tag or 'latest'}"
        if key not in self.tags:
            raise RegistryError.for_ref(ref, f"tag {ref.tag}: manifest unknown")
        return self.tags[key]


def build(
    engine: Engine,
    facts: Any,
    registry: Any = None,
    settings: Settings | None = None,
    **changes: Any,
) -> Flask:
    settings = settings or Settings()
    webhook = replace(settings.webhook, **changes).validated()
    app = create_app(
        replace(settings, webhook=webhook), engine=engine, facts=facts, registry=registry
    )
    _APPS.append(app)  # pool threads hold per-thread engines: keep the app for the session
    return app


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    registry = FakeRegistry({f"{APP}:v1": V1, f"{APP}:v2": V2, f"{APP}-side:1.0": SIDE})
    yield registry
    registry.hang.set()


@pytest.fixture
def client(engine: Engine, any_digest_facts: TrialFacts, fake: FakeRegistry) -> FlaskClient:
    return build(engine, any_digest_facts, fake).test_client()


def mutate_reply(client: FlaskClient, body: Any) -> dict[str, Any]:
    reply = client.post("/mutate", json=body)
    assert reply.status_code == 200, reply.data
    response: dict[str, Any] = reply.get_json()["response"]
    assert response["uid"] == body["request"]["uid"] and response["allowed"] is True
    return response


def ops_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    if "patch" not in response:
        return []
    assert response["patchType"] == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    assert all(op["op"] == "replace" and op["path"].endswith("/image") for op in ops), ops
    return ops


def patched(obj: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with the response's JSONPatch applied, as the API server does."""
    result: dict[str, Any] = jsonpatch.apply_patch(obj, ops_of(response))
    return result


def images(obj: dict[str, Any]) -> dict[str, str]:
    from gate.webhook.workloads import containers_of

    return {c.name: c.image for c in containers_of(obj)}


def test_a_deployment_is_pinned_and_then_admitted(client: FlaskClient) -> None:
    obj = workload("Deployment", f"{APP}:v1")
    denied = answer(client, review(obj))["response"]
    assert denied["allowed"] is False and "GATE-REF-001" in denied["status"]["message"]
    response = mutate_reply(client, review(obj))
    assert ops_of(response) == [
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/image",
            "value": f"{APP}:v1@{V1}",
        }
    ]
    pinned = patched(obj, response)
    assert images(pinned) == {"app0": f"{APP}:v1@{V1}"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == f"{APP}:v1"  # a copy
    admitted = answer(client, review(pinned))["response"]
    assert admitted["allowed"] is True, admitted


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_and_every_container_is_pinned(client: FlaskClient, kind: str) -> None:
    obj = workload(
        kind, f"{APP}:v1", f"{APP}:v2", init=(f"{APP}-side:1.0",), ephemeral=(f"{APP}:v1",)
    )
    pinned = patched(obj, mutate_reply(client, review(obj)))
    assert images(pinned) == {
        "app0": f"{APP}:v1@{V1}",
        "app1": f"{APP}:v2@{V2}",
        "init0": f"{APP}-side:1.0@{SIDE}",
        "debug0": f"{APP}:v1@{V1}",
    }
    assert answer(client, review(pinned))["response"]["allowed"] is True
    again = mutate_reply(client, review(pinned))  # reinvocation changes nothing
    assert "patch" not in again and "warnings" not in again


def test_each_distinct_image_is_resolved_once_per_review(
    client: FlaskClient, fake: FakeRegistry
) -> None:
    obj = workload("Pod", f"{APP}:v1", f"{APP}:v1", init=(f"{APP}:v1",))
    assert len(ops_of(mutate_reply(client, review(obj)))) == 3
    assert fake.resolved == [f"{APP}:v1"]


def test_the_pods_ephemeralcontainers_subresource(client: FlaskClient) -> None:
    pod = workload("Pod", f"{APP}:v1", ephemeral=(f"{APP}:v2",))
    body = review(pod, operation="UPDATE", subresource="ephemeralcontainers")
    body["request"]["oldObject"] = workload("Pod", f"{APP}:v1")  # the running pod
    response = mutate_reply(client, body)
    assert ops_of(response) == [
        {"op": "replace", "path": "/spec/ephemeralContainers/0/image", "value": f"{APP}:v2@{V2}"}
    ]


def test_the_tag_can_be_dropped(
    engine: Engine, any_digest_facts: TrialFacts, fake: FakeRegistry
) -> None:
    client = build(engine, any_digest_facts, fake, mutate_keep_tag=False).test_client()
    obj = workload("Deployment", f"{APP}:v1")
    pinned = patched(obj, mutate_reply(client, review(obj)))
    assert images(pinned) == {"app0": f"{APP}@{V1}"}
    assert answer(client, review(pinned))["response"]["allowed"] is True


def test_a_digest_is_left_alone(client: FlaskClient, fake: FakeRegistry) -> None:
    obj = workload("Pod", f"{APP}:v2@{V1}", f"{APP}@{V2}")
    response = mutate_reply(client, review(obj))
    assert "patch" not in response and "warnings" not in response
    assert fake.resolved == []


def test_an_unresolvable_tag_leaves_the_object_unchanged_with_a_warning(
    client: FlaskClient,
) -> None:
    obj = workload("Deployment", f"{APP}:gone", f"{APP}:v1")
    response = mutate_reply(client, review(obj))
    (warning,) = response["warnings"]
    assert warning.startswith(f"gate could not resolve {APP}:gone") and len(warning) <= 120
    pinned = patched(obj, response)
    assert images(pinned) == {"app0": f"{APP}:gone", "app1": f"{APP}:v1@{V1}"}
    denied = answer(client, review(pinned))["response"]
    assert denied["allowed"] is False
    assert (
        "GATE-REF-001" in denied["status"]["message"]
        and f"{APP}:gone" in denied["status"]["message"]
    )


def test_a_hanging_registry_ends_with_the_budget(
    engine: Engine, any_digest_facts: TrialFacts, fake: FakeRegistry
) -> None:
    fake.hanging = True
    client = build(engine, any_digest_facts, fake, budget=1.0).test_client()
    started = time.monotonic()
    response = mutate_reply(client, review(workload("Pod", f"{APP}:v1")))
    assert time.monotonic() - started < 3
    assert "patch" not in response and "time budget" in response["warnings"][0]


def test_dry_run_gets_the_same_answer(client: FlaskClient) -> None:
    obj = workload("StatefulSet", f"{APP}:v1", init=(f"{APP}:gone",))
    body = review(obj)
    dry = review(obj, dry_run=True)
    wet, dried = mutate_reply(client, body), mutate_reply(client, dry)
    assert ops_of(dried) == ops_of(wet) and dried["warnings"] == wet["warnings"]
    assert len(ops_of(dried)) == 1


def test_v1beta1_is_answered_in_v1beta1(client: FlaskClient) -> None:
    body = review(workload("Pod", f"{APP}:v1"), version="admission.k8s.io/v1beta1")
    reply = client.post("/mutate", json=body).get_json()
    assert reply["apiVersion"] == "admission.k8s.io/v1beta1" and ops_of(reply["response"])


def test_a_pod_update_leaves_running_images_alone(client: FlaskClient) -> None:
    old = workload("Pod", f"{APP}:v1", f"{APP}:v1")
    new = workload("Pod", f"{APP}:v1", f"{APP}:v2")
    body = review(new, operation="UPDATE")
    body["request"]["oldObject"] = old
    assert ops_of(mutate_reply(client, body)) == [
        {"op": "replace", "path": "/spec/containers/1/image", "value": f"{APP}:v2@{V2}"}
    ]
    template = review(workload("Deployment", f"{APP}:v1"), operation="UPDATE")
    assert len(ops_of(mutate_reply(client, template))) == 1  # a template pins on every update


@pytest.mark.parametrize(
    "body",
    [
        review(workload("Pod", f"{APP}:v1"), operation="DELETE"),
        review(workload("Pod", f"{APP}:v1"), namespace="kube-system"),
        review(workload("Pod", f"{APP}:v1"), namespace="gate-system"),
        review({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}),
        review({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "no"}}),
    ],
    ids=["delete", "kube-system", "own-namespace", "other-kind", "malformed"],
)
def test_nothing_to_pin(client: FlaskClient, fake: FakeRegistry, body: dict[str, Any]) -> None:
    response = mutate_reply(client, body)
    assert "patch" not in response and "warnings" not in response
    assert fake.resolved == []


def test_bodies_gate_cannot_read(client: FlaskClient) -> None:
    assert client.post("/mutate", data=b"{").status_code == 400
    body = review(workload("Pod", f"{APP}:v1"))
    body["request"]["operation"] = "PATCH"
    assert mutate_reply(client, body) == {"uid": body["request"]["uid"], "allowed": True}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that never answers: a registry gate must not reach."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def accepted(sock: socket.socket) -> int:
    """Connections made to ``sock`` so far (each completed its handshake into the backlog)."""
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def client_for(host: str, approved: tuple[str, ...]) -> RegistryClient:
    transport = TransportOptions(insecure_hosts=(host,))
    return RegistryClient(ClientOptions(approved=approved, transport=transport))


def approving(folder: Path, host: str) -> Settings:
    """Settings whose policy data approve ``host`` (besides nothing else)."""
    data = folder / "approve.json"
    data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": [f"{host}/**"]}}}}))
    return Settings(data_overrides=(data,))


def test_a_registry_the_policies_do_not_approve_is_never_contacted(
    engine: Engine, any_digest_facts: TrialFacts, listener: socket.socket
) -> None:
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    registry = client_for(host, (f"{host}/**",))  # only the policies stand in the way
    client = build(engine, any_digest_facts, registry).test_client()
    response = mutate_reply(client, review(workload("Deployment", f"{host}/app:v1")))
    assert "patch" not in response
    assert (
        "GATE-REF-002" in response["warnings"][0]
        and "nothing was contacted" in response["warnings"][0]
    )
    assert accepted(listener) == 0


def test_the_registry_client_refuses_a_host_it_does_not_approve(
    tmp_path: Path, any_digest_facts: TrialFacts, listener: socket.socket
) -> None:
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    settings = approving(tmp_path, host)
    registry = client_for(host, ("*-docker.pkg.dev/**",))  # policies approve it, the client not
    client = build(create_engine(settings), any_digest_facts, registry, settings).test_client()
    response = mutate_reply(client, review(workload("Pod", f"{host}/app:v1")))
    assert "patch" not in response
    assert "not an approved registry" in response["warnings"][0]
    assert accepted(listener) == 0


def test_the_socket_does_count_a_connection(
    tmp_path: Path, any_digest_facts: TrialFacts, listener: socket.socket
) -> None:
    """The control: with the host approved everywhere, gate connects (and times out)."""
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    settings = approving(tmp_path, host)
    registry = client_for(host, (f"{host}/**",))
    app = build(create_engine(settings), any_digest_facts, registry, settings, budget=1.0)
    response = mutate_reply(app.test_client(), review(workload("Pod", f"{host}/app:v1")))
    assert "patch" not in response and response["warnings"]
    assert accepted(listener) >= 1
