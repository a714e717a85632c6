"""Find every container of a pod-bearing Kubernetes object, with its effective securityContext.

Kinds: those of :mod:`gate.webhook.kinds` (Pod and its ``pods/ephemeralcontainers``
subresource, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
ReplicationController), each with its pod spec where that table says. The effective securityContext
is the container's over the pod's for the fields Kubernetes merges, plus the container-only
fields.

    >>> pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
    ...     "securityContext": {"runAsNonRoot": True},
    ...     "containers": [{"name": "c", "image": "nginx", "securityContext": {"runAsUser": 0}}]}}
    >>> [(c.name, c.kind, c.security_context) for c in containers_of(pod)]
    [('c', 'regular', {'runAsNonRoot': True, 'runAsUser': 0})]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.webhook.kinds import POD_SPEC_PATHS

BREAK_GLASS = "alpha.image-policy.k8s.io/break-glass"
CONTAINER_LISTS = (
    ("containers", "regular"),
    ("initContainers", "init"),
    ("ephemeralContainers", "ephemeral"),
)
# Pod-level PodSecurityContext fields that a container's SecurityContext overrides.
MERGED_FIELDS = (
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "seLinuxOptions",
    "seccompProfile",
    "windowsOptions",
    "appArmorProfile",
)


@dataclass(frozen=True)
class Container:
    name: str
    kind: str  # regular | init | ephemeral
    image: str
    security_context: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""  # JSON pointer to the container, e.g. /spec/template/spec/containers/0

    def to_input(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "image": self.image,
            "security_context": dict(self.security_context),
        }


def pod_template_metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata of the pods ``obj`` makes: its own for a Pod, else its pod template's."""
    path = POD_SPEC_PATHS.get(str(obj.get("kind")), ())
    node: Any = obj
    for step in (*path[:-1], "metadata") if path else ("metadata",):
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def break_glass(obj: Mapping[str, Any]) -> bool:
    """True when ``obj`` or its pod template carries ``BREAK_GLASS: "true"`` (exactly)."""
    for meta in (obj.get("metadata"), pod_template_metadata(obj)):
        annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
        if isinstance(annotations, Mapping) and annotations.get(BREAK_GLASS) == "true":
            return True
    return False


def workload_input(
    namespace: str,
    kind: str,
    name: str,
    operation: str,
    obj: Mapping[str, Any],
    container: Container,
) -> dict[str, Any]:
    """The input document's ``workload`` object (docs/input.md): the object's string
    annotations and the container with its effective securityContext."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    return {
        "namespace": namespace,
        "kind": kind,
        "name": name,
        "operation": operation,
        "annotations": {str(k): v for k, v in annotations.items() if isinstance(v, str)}
        if isinstance(annotations, Mapping)
        else {},
        "container": container.to_input(),
    }


def pod_spec_path(kind: str) -> tuple[str, ...]:
    try:
        return POD_SPEC_PATHS[kind]
    except KeyError as exc:
        raise InputError(
            f"kind {kind!r} carries no pod template gate knows",
            hint=f"gate handles {', '.join(POD_SPEC_PATHS)}",
        ) from exc


def containers_of(obj: Mapping[str, Any]) -> Iterator[Container]:
    """Every container of ``obj``; raises InputError when the object is malformed."""
    kind = obj.get("kind")
    if not isinstance(kind, str):
        raise InputError(
            "the object has no kind", hint="send the full object in the AdmissionReview"
        )
    path = pod_spec_path(kind)
    spec = _walk(obj, path)
    pod_context = _mapping(spec.get("securityContext"), "pod securityContext")
    for list_name, container_kind in CONTAINER_LISTS:
        items = spec.get(list_name) or []
        if not isinstance(items, list):
            raise InputError(f"{'.'.join(path)}.{list_name} is not a list")
        for index, item in enumerate(items):
            yield _container(
                item, container_kind, pod_context, "/" + "/".join((*path, list_name, str(index)))
            )


def effective_security_context(
    pod: Mapping[str, Any], container: Mapping[str, Any]
) -> dict[str, Any]:
    merged = {key: pod[key] for key in MERGED_FIELDS if key in pod}
    merged.update(container)
    return merged


def _container(item: Any, kind: str, pod_context: Mapping[str, Any], pointer: str) -> Container:
    if not isinstance(item, Mapping):
        raise InputError(f"{pointer} is not an object")
    image, name = item.get("image"), item.get("name", "")
    if not isinstance(image, str) or not image:
        raise InputError(
            f"{pointer} ({name or 'unnamed'}) has no image", hint="every container names its image"
        )
    context = _mapping(item.get("securityContext"), f"{pointer}/securityContext")
    return Container(
        str(name), kind, image, effective_security_context(pod_context, context), pointer
    )


def _walk(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    node: Mapping[str, Any] = obj
    for step in path:
        child = node.get(step)
        if not isinstance(child, Mapping):
            raise InputError(
                f"the {obj.get('kind')} has no {'.'.join(path)}", hint="is the object complete?"
            )
        node = child
    return node


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{what} is not an object")
    return value
