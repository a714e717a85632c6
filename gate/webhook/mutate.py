"""``POST /mutate``: the mutating admission webhook that pins container images to digests.

For every container (regular, init, ephemeral) of every kind ``/validate`` handles, the
:class:`~gate.webhook.pinning.Pinner` resolves ``name:tag`` to ``name:tag@sha256:…`` and the
answer carries a JSONPatch (``patchType: JSONPatch``, base64 ``patch``) of ``replace`` ops
at ``<container>/image``. The answer is always ``allowed``: ``/validate`` judges the pinned
object; an image left alone gets a warning when gate tried and failed. ``dryRun`` requests
get the same answer; gate writes nothing anywhere on any request. On a Pod UPDATE an image
equal to the old object's at the same place is left alone (changing it restarts the
container). Settings: ``GATE_MUTATE``, ``GATE_MUTATE_NAMESPACES``,
``GATE_MUTATE_REPOSITORIES``, ``GATE_MUTATE_KEEP_TAG`` (docs/webhook.md).

    >>> from gate.config import Settings
    >>> from gate.webhook.app import create_app
    >>> client = create_app(Settings()).test_client()
    >>> client.post("/mutate", data=b"{}").status_code
    400
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, request
from prometheus_client import CollectorRegistry, Counter

from gate.config import Settings
from gate.envparse import FALSE, TRUE
from gate.errors import ConfigError, GateError
from gate.facts import parse_json
from gate.policy.interface import Engine
from gate.reference import validate_pattern
from gate.webhook.asgi import arrival
from gate.webhook.outcome import fit_warnings
from gate.webhook.pinning import Pin, Pinner, Resolver
from gate.webhook.review import InvalidRequest, Review, ReviewError, parse_review, respond
from gate.webhook.state import WebhookState
from gate.webhook.workloads import containers_of

EXTENSION = "gate.mutate"
log = logging.getLogger(__name__)
blueprint = Blueprint("mutate", __name__)


@dataclass(frozen=True)
class Mutation:
    """The pinning part of the app: ``app.extensions["gate.mutate"]``."""

    pinner: Pinner
    enabled: bool
    namespaces: Mapping[str, bool]
    pins: Counter

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: Engine,
        resolver: Resolver | None,
        pool: Executor,
        registry: CollectorRegistry,
    ) -> Mutation:
        """From the ``GATE_MUTATE*`` settings; ConfigError on a bad namespace value or pattern."""
        webhook = settings.webhook
        namespaces = {}
        for namespace, value in webhook.mutate_namespaces:
            if value.lower() not in TRUE | FALSE:
                raise ConfigError(f"GATE_MUTATE_NAMESPACES: {namespace}={value} is not on/off")
            namespaces[namespace] = value.lower() in TRUE
        try:
            for pattern in webhook.mutate_repositories:
                validate_pattern(pattern)
        except GateError as exc:
            raise ConfigError(f"GATE_MUTATE_REPOSITORIES: {exc.message}", hint=exc.hint) from exc
        pinner = Pinner(
            engine,
            resolver,
            pool,
            repositories=webhook.mutate_repositories,
            keep_tag=webhook.mutate_keep_tag,
        )
        counter = Counter(
            "gate_image_pins", "Images seen by /mutate, by result", ("result",), registry=registry
        )
        return cls(pinner, webhook.mutate, namespaces, counter)

    def wanted(self, namespace: str) -> bool:
        return self.namespaces.get(namespace, self.enabled)


@blueprint.post("/mutate")
def mutate() -> tuple[dict[str, Any], int]:
    state: WebhookState = current_app.extensions["gate"]
    mutation: Mutation = current_app.extensions[EXTENSION]
    deadline = arrival(request.environ) + state.settings.webhook.budget
    body = request.get_data(cache=False)
    try:
        review = parse_review(body)
    except ReviewError as exc:
        return {"error": exc.message, "hint": exc.hint}, 400
    except InvalidRequest as exc:  # unchanged: /validate denies what it cannot read
        return respond(exc.api_version, exc.uid, allowed=True), 200
    try:
        pins = plan(state, mutation, review, body, deadline)
    except Exception:  # a bug leaves the object unchanged; /validate still decides
        log.exception("pinning the images of %s failed", review.uid)
        pins = []
    for pin in pins:
        mutation.pins.labels(pin.result).inc()
    return answer(review, pins), 200


def plan(
    state: WebhookState, mutation: Mutation, review: Review, body: bytes, deadline: float
) -> list[Pin]:
    """What to do with each container's image (nothing when the review is not for pinning)."""
    obj = review.obj
    if review.operation not in ("CREATE", "UPDATE") or not review.pod_bearing or obj is None:
        return []
    if review.namespace in state.exempt or not mutation.wanted(review.namespace):
        return []
    obj = {**obj, "kind": obj.get("kind") or review.kind}
    try:
        containers = list(containers_of(obj))
    except GateError:
        return []  # /validate denies a malformed object
    old = _old_images(review, body)
    items = [(c, review.workload(obj, c)) for c in containers if old.get(c.path) != c.image]
    pins = mutation.pinner.pin(items, deadline)
    if pins:
        log.info(
            "pinned %d of %d images",
            sum(1 for p in pins if p.pinned),
            len(pins),
            extra={"fields": _fields(review, pins)},
        )
    return pins


def answer(review: Review, pins: list[Pin]) -> dict[str, Any]:
    """The allowing AdmissionReview, with the JSONPatch of every pinned image."""
    notes = list(dict.fromkeys(pin.note for pin in pins if pin.note and not pin.pinned))
    body = respond(review.api_version, review.uid, allowed=True, warnings=fit_warnings(notes))
    ops = [
        {"op": "replace", "path": f"{pin.container.path}/image", "value": pin.pinned}
        for pin in pins
        if pin.pinned
    ]
    if ops:
        body["response"]["patchType"] = "JSONPatch"
        body["response"]["patch"] = base64.b64encode(json.dumps(ops).encode()).decode("ascii")
    return body


def _old_images(review: Review, body: bytes) -> dict[str, str]:
    """A Pod UPDATE's old images by container path (empty for anything else)."""
    if review.operation != "UPDATE" or review.kind not in ("Pod", "EphemeralContainers"):
        return {}
    try:
        old = parse_json(body)["request"].get("oldObject")
        if not isinstance(old, dict):
            return {}
        return {c.path: c.image for c in containers_of({**old, "kind": review.kind})}
    except (GateError, ValueError, KeyError, AttributeError):
        return {}


def _fields(review: Review, pins: list[Pin]) -> dict[str, Any]:
    return {
        "uid": review.uid,
        "namespace": review.namespace,
        "object": f"{review.kind}/{review.name}",
        "dry_run": review.dry_run,
        "images": [
            {"container": p.container.name, "image": p.container.image, "result": p.result}
            | ({"pinned": p.pinned} if p.pinned else {})
            for p in pins
        ],
    }
