"""The pod-bearing kinds gate judges: one table.

Admission (``/validate``, ``/mutate``) answers for these kinds, finds each one's pod spec
with it, and ``gate audit`` lists them; the webhook manifests (deploy/kubernetes/base) and
the audit's ClusterRole (deploy/kubernetes/audit) are tested against it. To handle
another kind, add a row here and the same resource to those manifests.

    >>> [k.kind for k in KINDS][:3]
    ['Pod', 'ReplicationController', 'Deployment']
    >>> pod_bearing("apps", "Deployment", ""), pod_bearing("", "Pod", "status")
    (True, False)
    >>> pod_bearing("", "Pod", "ephemeralcontainers"), POD_SPEC_PATHS["CronJob"][:2]
    (True, ('spec', 'jobTemplate'))
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PodBearingKind:
    group: str  # "" for the core group
    version: str
    plural: str  # the resource, as RBAC rules and webhook rules name it
    kind: str
    pod_spec: tuple[str, ...]  # where the object keeps its pod spec
    legacy_groups: tuple[str, ...] = ()  # older groups of the same kind admission still takes


_TEMPLATE = ("spec", "template", "spec")
_APPS_LEGACY = ("extensions",)

KINDS: tuple[PodBearingKind, ...] = (
    PodBearingKind("", "v1", "pods", "Pod", ("spec",)),
    PodBearingKind("", "v1", "replicationcontrollers", "ReplicationController", _TEMPLATE),
    PodBearingKind("apps", "v1", "deployments", "Deployment", _TEMPLATE, _APPS_LEGACY),
    PodBearingKind("apps", "v1", "replicasets", "ReplicaSet", _TEMPLATE, _APPS_LEGACY),
    PodBearingKind("apps", "v1", "statefulsets", "StatefulSet", _TEMPLATE, _APPS_LEGACY),
    PodBearingKind("apps", "v1", "daemonsets", "DaemonSet", _TEMPLATE, _APPS_LEGACY),
    PodBearingKind("batch", "v1", "jobs", "Job", _TEMPLATE),
    PodBearingKind(
        "batch", "v1", "cronjobs", "CronJob", ("spec", "jobTemplate", "spec", "template", "spec")
    ),
)
# Subresources that carry containers: a Pod's ephemeral containers (kubectl debug). Before
# Kubernetes 1.22 the API server sent them as kind EphemeralContainers, without a pod spec.
SUBRESOURCES = ("pods/ephemeralcontainers",)
EPHEMERAL_KIND = "EphemeralContainers"

ADMITTED: frozenset[tuple[str, str]] = frozenset(
    (group, k.kind) for k in KINDS for group in (k.group, *k.legacy_groups)
)
_PLURALS = {k.kind: k.plural for k in KINDS}
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {k.kind: k.pod_spec for k in KINDS} | {
    EPHEMERAL_KIND: ()
}


def pod_bearing(group: str, kind: str, subresource: str) -> bool:
    """True when an admission request for this object (or subresource) carries containers."""
    if f"{_PLURALS.get(kind)}/{subresource}" in SUBRESOURCES or kind == EPHEMERAL_KIND:
        return True
    return not subresource and (group, kind) in ADMITTED
