"""AdmissionReviews for the webhook tests: every pod-bearing kind, built the way the API
server sends them, plus the shared fixtures (some are bare ``request`` bodies: wrapped).

    >>> body = review(workload("CronJob", COMPLIANT))
    >>> body["request"]["kind"], body["request"]["resource"]["resource"]
    ({'group': 'batch', 'version': 'v1', 'kind': 'CronJob'}, 'cronjobs')
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.webhook.kinds import KINDS as POD_BEARING

COMPLIANT = (
    "us-docker.pkg.dev/gate-samples/apps/hello@"
    "sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542"
)
TAG_ONLY = "nginx:latest"
BREAK_GLASS = "alpha.image-policy.k8s.io/break-glass"

# kind: (group, version, resource, path of the pod spec), from gate's one kinds table, so
# every kind it handles is sent in a review by the tests that go through them all.
KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    k.kind: (k.group, k.version, k.plural, k.pod_spec) for k in POD_BEARING
}


def pod_spec(
    *images: str, init: tuple[str, ...] = (), ephemeral: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A pod spec that passes every workload check, one container per image."""

    def containers(prefix: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{prefix}{i}",
                "image": image,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                },
            }
            for i, image in enumerate(names)
        ]

    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
        "containers": containers("app", images),
    }
    if init:
        spec["initContainers"] = containers("init", init)
    if ephemeral:
        spec["ephemeralContainers"] = containers("debug", ephemeral)
    return spec


def workload(
    kind: str,
    *images: str,
    name: str = "web",
    annotations: Mapping[str, str] | None = None,
    **containers: tuple[str, ...],
) -> dict[str, Any]:
    """An object of ``kind`` whose pods run ``images`` (annotations on the pod template)."""
    group, version, _, path = KINDS[kind]
    spec = pod_spec(*images, **containers)
    obj: dict[str, Any] = {
        "apiVersion": f"{group}/{version}" if group else version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "default", "annotations": dict(annotations or {})},
    }
    node = obj
    for step in path[:-1]:
        node = node.setdefault(step, {})
    if kind != "Pod":
        node["metadata"] = {"labels": {"app": name}, "annotations": dict(annotations or {})}
    node[path[-1]] = spec
    return obj


def review(
    obj: Mapping[str, Any],
    *,
    operation: str = "CREATE",
    namespace: str = "default",
    version: str = "admission.k8s.io/v1",
    dry_run: bool = False,
    subresource: str = "",
) -> dict[str, Any]:
    kind = str(obj["kind"])
    group, kind_version, resource, _ = KINDS.get(
        kind, ("example.com", "v1", kind.lower() + "s", ())
    )
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": group, "version": kind_version, "kind": kind},
        "resource": {"group": group, "version": kind_version, "resource": resource},
        "requestKind": {"group": group, "version": kind_version, "kind": kind},
        "name": obj.get("metadata", {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": None if operation in ("DELETE", "CONNECT") else copy.deepcopy(dict(obj)),
        "oldObject": copy.deepcopy(dict(obj)) if operation in ("UPDATE", "DELETE") else None,
        "dryRun": dry_run,
    }
    if subresource:
        request["subResource"] = subresource
    return {"apiVersion": version, "kind": "AdmissionReview", "request": request}


def wrap(request: Mapping[str, Any], version: str = "admission.k8s.io/v1") -> dict[str, Any]:
    """A bare AdmissionRequest (a fixture's ``request`` body) inside an AdmissionReview."""
    return {"apiVersion": version, "kind": "AdmissionReview", "request": dict(request)}


def fixture_reviews(folder: Path) -> dict[str, dict[str, Any]]:
    """Every AdmissionReview fixture by file name, bare requests wrapped."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text())
        found[path.name] = doc if doc.get("kind") == "AdmissionReview" else wrap(doc)
    return found


def with_image(body: Mapping[str, Any], image: str) -> dict[str, Any]:
    """``body`` with every container image replaced by ``image`` (fixtures made compliant)."""
    text = json.dumps(body)
    doc: dict[str, Any] = json.loads(text)
    _replace_images(doc["request"]["object"], image)
    return doc


def _replace_images(node: Any, image: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(
                value, list
            ):
                for container in value:
                    container["image"] = image
            else:
                _replace_images(value, image)
    elif isinstance(node, list):
        for item in node:
            _replace_images(item, image)
