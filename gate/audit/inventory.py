"""What the cluster runs: every pod-bearing workload and the images its pods run.

:func:`take_inventory` lists Pods and every controller kind admission handles, page by
page, outside the exempt namespaces (a field selector: those objects are never read) and
without finished Pods (``Succeeded``/``Failed`` run nothing). Each live Pod is rolled up
through its owner references to its top-level workload (Pod → ReplicaSet → Deployment,
Pod → Job → CronJob); an owner gate does not list (an operator's custom resource) stops
the walk, so the topmost object gate knows is the workload. A workload with live Pods is
judged by what they run; one without (scaled to zero, a CronJob between runs) by its pod
template.

The reference judged for a container (:func:`judged_reference`): the spec's own when it
pins a digest (the kubelet can only run that content); else the spec's name and tag with
the digest from the container status ``imageID`` (what the runtime actually pulled: a tag
may have moved since); else, before the container has started, the spec's reference as
written (gate resolves the tag, as at admission).

    >>> judged_reference("nginx:1.27", "docker.io/library/nginx@sha256:" + "a" * 64)[:2]
    ('nginx:1.27@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'status')
    >>> judged_reference("nginx:1.27", "sha256:" + "b" * 64)   # an image ID, not a manifest digest
    ('nginx:1.27', 'spec', '')
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gate.audit.kube import KubeApi, Resource, list_all
from gate.errors import GateError, InvalidReference
from gate.reference import parse_reference
from gate.webhook.workloads import Container, containers_of

POD = Resource("", "v1", "pods", "Pod")
CONTROLLERS = (
    Resource("", "v1", "replicationcontrollers", "ReplicationController"),
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("apps", "v1", "replicasets", "ReplicaSet"),
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("apps", "v1", "daemonsets", "DaemonSet"),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob"),
)
KINDS = (POD, *CONTROLLERS)
FINISHED = ("Succeeded", "Failed")
STATUS_LISTS = {
    "regular": "containerStatuses",
    "init": "initContainerStatuses",
    "ephemeral": "ephemeralContainerStatuses",
}
_DIGEST = re.compile(r"@((?:sha256:[0-9a-f]{64})|(?:sha512:[0-9a-f]{128}))$")
MAX_OWNER_DEPTH = 8
METADATA = ("name", "namespace", "uid", "ownerReferences", "annotations", "generateName")


@dataclass(frozen=True)
class WorkloadRef:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    def to_object_reference(self) -> dict[str, str]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }

    def __str__(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class RunningImage:
    """One container of a workload and the reference judged for it."""

    container: Container  # as the pod spec (or template) writes it
    reference: str  # what gate judges
    source: str  # where its digest came from: "status", "spec" (as written) or "template"
    runtime_digest: str = ""  # the imageID's digest, "" when unknown
    pods: int = 0  # live pods running it (0: judged from the template)


@dataclass(frozen=True)
class Workload:
    ref: WorkloadRef
    obj: Mapping[str, Any]  # the top-level object (metadata, spec), for annotations
    images: tuple[RunningImage, ...] = ()
    pods: int = 0
    problem: GateError | None = None  # the object or one of its pods cannot be read


@dataclass
class Inventory:
    workloads: list[Workload] = field(default_factory=list)
    pods: int = 0
    objects: Counter[str] = field(default_factory=Counter)  # listed objects by kind


def take_inventory(api: KubeApi, exempt: Iterable[str], *, page_size: int) -> Inventory:
    """Every workload outside ``exempt`` namespaces (see the module docstring)."""
    outside = ",".join(f"metadata.namespace!={ns}" for ns in sorted(set(exempt)))
    inventory = Inventory()
    controllers: dict[str, tuple[Resource, dict[str, Any]]] = {}
    for resource in CONTROLLERS:
        for obj in list_all(
            api, resource, slim(resource), page_size=page_size, field_selector=outside
        ):
            controllers[_uid(obj)] = (resource, obj)
            inventory.objects[resource.kind] += 1
    live = ",".join([*(f"status.phase!={phase}" for phase in FINISHED), *filter(None, [outside])])
    pods = list_all(api, POD, slim(POD), page_size=page_size, field_selector=live)
    inventory.objects[POD.kind] += len(pods)
    inventory.pods = len(pods)
    by_top: dict[str, tuple[Resource, dict[str, Any], list[dict[str, Any]]]] = {}
    for pod in pods:
        resource, top = _top(POD, pod, controllers)
        by_top.setdefault(_uid(top), (resource, top, []))[2].append(pod)
    owned = {
        uid for uid, (_, obj) in controllers.items() if _owner_uid(obj, controllers) is not None
    }
    for uid, (resource, obj) in controllers.items():
        if uid not in owned:
            by_top.setdefault(uid, (resource, obj, []))
    for resource, top, members in by_top.values():
        inventory.workloads.append(workload(resource, top, members))
    inventory.workloads.sort(key=lambda w: (w.ref.namespace, w.ref.kind, w.ref.name))
    return inventory


def workload(
    resource: Resource, top: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]
) -> Workload:
    """The workload ``top`` with what its live ``pods`` run (its template when none)."""
    meta = top.get("metadata") or {}
    ref = WorkloadRef(
        resource.api_version,
        resource.kind,
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        str(meta.get("uid") or ""),
    )
    try:
        images = _from_pods(pods) if pods else _from_template(top)
    except GateError as exc:
        return Workload(ref, top, pods=len(pods), problem=exc)
    return Workload(ref, top, tuple(images), len(pods))


def judged_reference(spec: str, image_id: str) -> tuple[str, str, str]:
    """(reference to judge, "status" or "spec", the runtime's digest or "")."""
    found = _DIGEST.search(image_id.strip()) if "@" in image_id else None
    runtime = found.group(1) if found else ""
    try:
        ref = parse_reference(spec)
    except InvalidReference:
        return spec, "spec", runtime  # judged as written: the reference error denies
    if ref.digest or not runtime:
        return spec, "spec", runtime
    return f"{spec}@{runtime}", "status", runtime


def slim(resource: Resource) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """What the audit keeps of a listed object (list items carry no kind: it is added):
    no managedFields, and of a Pod's status only the phase and the containers' imageIDs."""

    def keep(obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        kept: dict[str, Any] = {
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "metadata": {k: meta[k] for k in METADATA if k in meta},
            "spec": obj.get("spec"),
        }
        status = obj.get("status")
        if resource.kind == "Pod" and isinstance(status, Mapping):
            kept["status"] = {"phase": status.get("phase")} | {
                name: [
                    {"name": s.get("name"), "imageID": s.get("imageID") or ""}
                    for s in status.get(name) or ()
                    if isinstance(s, Mapping)
                ]
                for name in STATUS_LISTS.values()
            }
        return kept

    return keep


def _from_pods(pods: Sequence[Mapping[str, Any]]) -> list[RunningImage]:
    """One entry per distinct (container, securityContext, judged reference) over ``pods``."""
    found: dict[tuple[str, ...], RunningImage] = {}
    counts: Counter[tuple[str, ...]] = Counter()
    for pod in pods:
        statuses = _statuses(pod)
        for container in containers_of(pod):
            image_id = statuses.get((container.kind, container.name), "")
            reference, source, runtime = judged_reference(container.image, image_id)
            context = json.dumps(container.security_context, sort_keys=True, default=str)
            key = (container.kind, container.name, container.image, context, reference)
            found.setdefault(key, RunningImage(container, reference, source, runtime))
            counts[key] += 1
    return [replace(image, pods=counts[key]) for key, image in found.items()]


def _from_template(top: Mapping[str, Any]) -> list[RunningImage]:
    return [RunningImage(c, c.image, "template") for c in containers_of(top)]


def _statuses(pod: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    status = pod.get("status") or {}
    return {
        (kind, str(s.get("name"))): str(s.get("imageID") or "")
        for kind, name in STATUS_LISTS.items()
        for s in status.get(name) or ()
        if isinstance(s, Mapping)
    }


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _owner_uid(obj: Mapping[str, Any], known: Mapping[str, Any]) -> str | None:
    """The uid of ``obj``'s controlling owner (else its first owner), when gate listed it."""
    owners = [o for o in (obj.get("metadata") or {}).get("ownerReferences") or () if o]
    owners.sort(key=lambda o: not o.get("controller"))
    for owner in owners[:1]:
        uid = str(owner.get("uid") or "")
        if uid in known and uid != _uid(obj):
            return uid
    return None


def _top(
    resource: Resource,
    obj: dict[str, Any],
    controllers: Mapping[str, tuple[Resource, dict[str, Any]]],
) -> tuple[Resource, dict[str, Any]]:
    for _ in range(MAX_OWNER_DEPTH):
        owner = _owner_uid(obj, controllers)
        if owner is None:
            break
        resource, obj = controllers[owner]
    return resource, obj
