"""The one kinds table: admission, the pod-spec paths and the audit's list all read it."""

from __future__ import annotations

from gate.audit.inventory import CONTROLLERS, POD
from gate.webhook.kinds import KINDS, POD_SPEC_PATHS, pod_bearing
from gate.webhook.workloads import containers_of


def test_every_kind_is_admitted_and_its_containers_found() -> None:
    for k in KINDS:
        assert pod_bearing(k.group, k.kind, ""), k
        assert not pod_bearing(k.group, k.kind, "status"), k
        assert all(pod_bearing(group, k.kind, "") for group in k.legacy_groups), k
        obj: dict[str, object] = {"kind": k.kind}
        node = obj
        for step in k.pod_spec:
            node[step] = {}
            node = node[step]  # type: ignore[assignment]
        node["containers"] = [{"name": "c", "image": "nginx"}]
        [container] = containers_of(obj)
        assert container.path == "/" + "/".join((*k.pod_spec, "containers", "0"))
    assert not pod_bearing("", "ConfigMap", "") and not pod_bearing("apps", "Pod", "")
    assert set(POD_SPEC_PATHS) == {k.kind for k in KINDS} | {"EphemeralContainers"}


def test_the_audit_lists_the_pods_and_every_other_kind() -> None:
    assert POD.plural == "pods" and POD not in CONTROLLERS
    assert {r.kind for r in CONTROLLERS} == {k.kind for k in KINDS} - {"Pod"}
