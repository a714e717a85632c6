"""What the cluster runs: every pod-bearing workload and the images its pods run.

:func:`take_inventory` lists Pods and every controller kind admission handles, page by
page, outside the exempt namespaces (a field selector: those objects are never read) and
without finished Pods (``Succeeded``/``Failed`` run nothing). Each live Pod is rolled up
through its owner references to its top-level workload (Pod → ReplicaSet → Deployment,
Pod → Job → CronJob); an owner gate does not list (an operator's custom resource) stops
the walk, so the topmost object gate knows is the workload. A workload with live Pods is
judged by what they run; one without (scaled to zero, a CronJob between runs) by its pod
template.

    >>> [r.kind for r in KINDS][:3]
    ['Pod', 'ReplicationController', 'Deployment']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gate.audit.kube import KubeApi, Resource, list_all
from gate.audit.running import (
    STATUS_LISTS,
    RunningImage,
    images_of_pods,
    images_of_template,
)
from gate.errors import GateError
from gate.webhook.kinds import KINDS as POD_BEARING

# The kinds admission handles (gate.webhook.kinds), as resources to list.
KINDS = tuple(Resource(k.group, k.version, k.plural, k.kind) for k in POD_BEARING)
(POD,) = (r for r in KINDS if r.kind == "Pod")
CONTROLLERS = tuple(r for r in KINDS if r is not POD)
FINISHED = ("Succeeded", "Failed")
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
        images = images_of_pods(pods) if pods else images_of_template(top)
    except GateError as exc:
        return Workload(ref, top, pods=len(pods), problem=exc)
    return Workload(ref, top, tuple(images), len(pods))


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
