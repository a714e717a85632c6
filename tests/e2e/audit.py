"""Helpers for ``gate audit`` against the end-to-end cluster.

No controller manager or kubelet runs there, so the tests leave objects as they would:
:func:`deployment` creates the Deployment, its ReplicaSet and its Pods (owner references
set), and :func:`set_statuses` patches each Pod's status with the ``imageID`` a runtime
reports. :func:`audit_manifests` renders ``deploy/kubernetes/audit`` and
:func:`install_audit_rbac` applies its ServiceAccount and RBAC, then :func:`token_kubeconfig`
makes a kubeconfig with that account's token (TokenRequest), so the audit runs with exactly
the permissions the manifests grant. :class:`AuditProcess` runs ``gate audit --every`` with
the Deployment's ``GATE_*`` settings and reads its ``/metrics``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from gate.audit.kube import KubeApi, KubernetesApi
from tests.e2e.cluster import REPO_ROOT, Cluster, Process, child_env, free_port
from tests.e2e.webhook import apply, gate_command

AUDIT_DIR = REPO_ROOT / "deploy" / "kubernetes" / "audit"
CRDS = REPO_ROOT / "deploy" / "crds"
MERGE = "application/merge-patch+json"


def api_of(cluster: Cluster) -> KubeApi:
    return KubernetesApi(cluster.api_client(), 30.0)


def pod_spec(*images: str, run_as: int = 65532) -> dict[str, Any]:
    """A pod spec with one container per image (``c0``, ``c1``…), non-root."""
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": run_as},
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
    }


def owner(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
    }


def create(
    api: KubeApi, path: str, name: str, body: Mapping[str, Any], owned_by: Any = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **copy.deepcopy(dict(body.get("metadata") or {}))}
    if owned_by is not None:
        meta["ownerReferences"] = [owner(owned_by)]
    return api.request("POST", path, body={**body, "metadata": meta})


def pod(
    api: KubeApi,
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    image_ids: Sequence[str] | None,
    *,
    owned_by: Any = None,
    annotations: Mapping[str, str] | None = None,
    phase: str = "Running",
) -> dict[str, Any]:
    """A Pod; with ``image_ids`` (one per container) its status says it runs them."""
    body = {"metadata": {"annotations": dict(annotations or {})}, "spec": spec}
    created = create(api, f"/api/v1/namespaces/{namespace}/pods", name, body, owned_by)
    if image_ids is not None:
        set_statuses(api, namespace, name, spec, image_ids, phase=phase)
    return created


def set_statuses(
    api: KubeApi,
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    image_ids: Sequence[str],
    *,
    phase: str = "Running",
) -> None:
    """Patch the Pod's status as the kubelet would: each container running its imageID."""
    statuses = [
        {
            "name": c["name"],
            "image": c["image"],
            "imageID": image_id,
            "ready": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
        }
        for c, image_id in zip(spec["containers"], image_ids, strict=True)
    ]
    api.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/{name}/status",
        body={"status": {"phase": phase, "containerStatuses": statuses}},
        content_type=MERGE,
    )


def template(spec: Mapping[str, Any], labels: Mapping[str, str], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"labels": dict(labels), **meta}, "spec": dict(spec)}


def deployment(
    api: KubeApi,
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    image_ids: Sequence[str],
    *,
    replicas: int = 2,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment as its controllers leave it: a ReplicaSet and ``replicas`` running Pods."""
    labels = {"app": name}
    tpl = template(spec, labels, annotations=dict(annotations or {}))
    body = {"spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": tpl}}
    made = create(api, f"/apis/apps/v1/namespaces/{namespace}/deployments", name, body)
    made |= {"apiVersion": "apps/v1", "kind": "Deployment"}
    rollout(api, namespace, made, spec, image_ids, revision="1", replicas=replicas)
    return made


def rollout(
    api: KubeApi,
    namespace: str,
    made: Mapping[str, Any],
    spec: Mapping[str, Any],
    image_ids: Sequence[str],
    *,
    revision: str,
    replicas: int,
) -> None:
    """A new ReplicaSet of the Deployment ``made`` with ``replicas`` running Pods."""
    name = made["metadata"]["name"]
    labels = {"app": name, "rev": revision}
    body = {
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": template(spec, labels),
        }
    }
    rs = create(
        api, f"/apis/apps/v1/namespaces/{namespace}/replicasets", f"{name}-{revision}", body, made
    )
    rs |= {"apiVersion": "apps/v1", "kind": "ReplicaSet"}
    for i in range(replicas):
        pod(api, namespace, f"{name}-{revision}-{i}", spec, image_ids, owned_by=rs)


def delete_pods(api: KubeApi, namespace: str, names: Sequence[str]) -> None:
    for name in names:
        api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")


def audit_manifests(cluster: Cluster) -> list[dict[str, Any]]:
    out = cluster.kubectl("kustomize", str(AUDIT_DIR)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def install_crds(cluster: Cluster, kind: str) -> None:
    """``kubectl apply -k deploy/crds/<kind>``, then wait until the API serves them."""
    cluster.kubectl("apply", "-k", str(CRDS / kind))
    resource = {"policyreport": "policyreports", "openreports": "reports.openreports.io"}[kind]
    wait_for(
        lambda: cluster.kubectl("get", resource, "-A", check=False).returncode == 0,
        f"the {kind} CRDs served",
    )


def install_audit_rbac(cluster: Cluster, manifests: Sequence[Mapping[str, Any]]) -> str:
    """The manifests' ServiceAccount, ClusterRole and binding; returns the namespace."""
    account = next(m for m in manifests if m["kind"] == "ServiceAccount")
    namespace = account["metadata"]["namespace"]
    apply(cluster, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}])
    apply(cluster, [m for m in manifests if m["kind"] in ("ServiceAccount", "ClusterRole")])
    apply(cluster, [m for m in manifests if m["kind"] == "ClusterRoleBinding"])
    return str(namespace)


def token_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as ``account`` with a token from TokenRequest."""
    answer = api_of(cluster).request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
              "spec": {"expirationSeconds": 3600}},
    )  # fmt: skip
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "e2e",
                "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca.cert_file)},
            }
        ],
        "users": [{"name": account, "user": {"token": answer["status"]["token"]}}],
        "contexts": [{"name": "audit", "context": {"cluster": "e2e", "user": account}}],
        "current-context": "audit",
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def deployment_env(manifests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The ``GATE_*`` settings of the audit Deployment (literal values; the namespace for
    ``metadata.namespace``), with the metrics server moved to a free port on 127.0.0.1."""
    found = next(m for m in manifests if m["kind"] == "Deployment")
    (container,) = found["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["gate", "audit"], container["command"]
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif (item.get("valueFrom", {}).get("fieldRef") or {}).get("fieldPath") == (
            "metadata.namespace"
        ):
            env[item["name"]] = found["metadata"]["namespace"]
    env["GATE_AUDIT_METRICS_BIND"] = f"127.0.0.1:{free_port()}"
    return env


class AuditProcess:
    """``gate audit --every`` in a process group of its own; ``/metrics`` read over HTTP."""

    def __init__(self, workdir: Path, env: Mapping[str, str], every: str = "2s") -> None:
        self.env, self.workdir = dict(env), workdir
        self.process = Process(
            "gate audit",
            [*gate_command(), "audit", "--every", every],
            workdir / f"audit-{free_port()}.log",
            cwd=str(REPO_ROOT),
            env=self.env,
        )
        self.url = f"http://{self.env['GATE_AUDIT_METRICS_BIND']}"

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def runs(self) -> float:
        try:
            found = self.metrics()
        except OSError:
            return 0.0
        return found.get(("gate_audit_runs_total", (("result", "ok"),)), 0.0)

    def wait_runs(self, count: float, timeout: float = 90.0) -> None:
        """Until ``count`` runs have completed (a new run starts after what came before)."""
        wait_for(lambda: self.runs() >= count, f"{count:g} audit runs", timeout, self)

    def log_lines(self) -> list[dict[str, Any]]:
        self.process.log_tail(0)
        lines = []
        for line in self.process.log_file.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return [line for line in lines if isinstance(line, dict)]

    def stop(self) -> int | None:
        self.process.stop()
        return self.process.proc.returncode


def run_once(env: Mapping[str, str], *flags: str, **settings: str) -> tuple[int, dict[str, Any]]:
    """``gate audit --output json`` once with ``env`` (and ``settings``) as its only GATE_*
    variables: (exit code, the JSON document)."""
    others = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    mine = {k: v for k, v in {**env, **settings}.items() if k != "GATE_AUDIT_EVERY"}
    result = subprocess.run(
        [*gate_command(), "audit", "--output", "json", *flags],
        env=child_env(others | mine),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def wait_for(
    check: Callable[[], bool], what: str, timeout: float = 60.0, audit: AuditProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if audit is not None and not audit.process.running:
            raise AssertionError(f"gate audit exited:\n{audit.process.log_tail()}")
        time.sleep(0.3)
    tail = f"\n{audit.process.log_tail()}" if audit is not None else ""
    raise AssertionError(f"timed out waiting for {what}{tail}")


def report_of(cluster: Cluster, namespace: str, uid: str, kind: str = "policyreports") -> Any:
    found = cluster.kubectl("get", kind, "-n", namespace, f"gate-{uid}", "-o", "json", check=False)
    return json.loads(found.stdout) if found.returncode == 0 else None


def events_of(cluster: Cluster, namespace: str, uid: str) -> list[dict[str, Any]]:
    found = cluster.kubectl(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.uid={uid}",
        "-o", "json",
    )  # fmt: skip
    return list(json.loads(found.stdout)["items"])
