"""The control plane itself: kube-apiserver on etcd answers kubectl and the Python client,
with RBAC and the default admission plugins, and stops leaving nothing behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.cluster import Binaries, Cluster, pinned_version
from tests.e2e.conftest import start_cluster

GO_MOD = Path(__file__).resolve().parents[2] / "test" / "e2e" / "go.mod"


def test_server_version_is_the_pinned_release(cluster: Cluster) -> None:
    status, body = cluster.get_raw("/version")
    assert status == 200, body
    assert json.loads(body)["gitVersion"] == pinned_version(GO_MOD, "k8s.io/kubernetes")


def test_readyz_and_default_admission_plugins(cluster: Cluster) -> None:
    status, body = cluster.get_raw("/readyz?verbose")
    assert status == 200, body
    # The webhook admission plugins are in the default chain: gate is called for real.
    status, body = cluster.get_raw("/apis/admissionregistration.k8s.io/v1")
    assert status == 200, body
    kinds = {r["kind"] for r in json.loads(body)["resources"]}
    assert "ValidatingWebhookConfiguration" in kinds


def test_kubectl_creates_a_namespace_and_configmap(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "kubectl-check")
    cluster.kubectl("-n", "kubectl-check", "create", "configmap", "c", "--from-literal=k=v")
    out = cluster.kubectl("-n", "kubectl-check", "get", "configmap", "c", "-o", "json").stdout
    assert json.loads(out)["data"] == {"k": "v"}
    version = cluster.kubectl("version", "-o", "json").stdout
    assert json.loads(version)["serverVersion"]["gitVersion"].startswith("v1.")


def test_python_client_creates_a_namespace_and_configmap(cluster: Cluster) -> None:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    name = cluster.create_namespace("py")
    core.create_namespaced_config_map(
        name, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"k": "v"})
    )
    assert core.read_namespaced_config_map("c", name).data == {"k": "v"}
    assert core.read_namespaced_service_account("default", name).metadata.name == "default"


def test_pods_are_stored_without_a_scheduler(cluster: Cluster, namespace: str) -> None:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="p"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.37")]),
    )
    created = core.create_namespaced_pod(namespace, pod)
    assert created.status.phase == "Pending"
    # dry-run=server goes through admission and stores nothing.
    pod.metadata.name = "dry"
    core.create_namespaced_pod(namespace, pod, dry_run="All")
    names = [p.metadata.name for p in core.list_namespaced_pod(namespace).items]
    assert names == ["p"]


def test_rbac_denies_an_unprivileged_user(cluster: Cluster, tmp_path: Path) -> None:
    user = cluster.ca.issue("nobody", "nobody", client=True, folder=tmp_path)
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = cluster.server
    configuration.ssl_ca_cert = str(cluster.ca.cert_file)
    configuration.cert_file = str(user.cert_file)
    configuration.key_file = str(user.key_file)
    with (
        client.ApiClient(configuration) as api,
        pytest.raises(client.exceptions.ApiException) as denied,
    ):
        client.CoreV1Api(api).list_namespace()
    assert denied.value.status == 403


def test_stop_leaves_no_process_and_frees_the_port(
    e2e_binaries: Binaries, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own = start_cluster(e2e_binaries, tmp_path_factory.mktemp("lifecycle"))
    assert own.apiserver is not None and own.etcd is not None and own.etcd.process is not None
    pids = [own.apiserver.proc.pid, own.etcd.process.proc.pid]
    port = own.port
    own.stop()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} still there"
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
