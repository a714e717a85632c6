"""``gate audit --output json`` once against a real kube-apiserver: what it lists, how it
rolls Pods up to their workloads, exemptions, modes and break-glass as at admission, and
the report resources it writes and removes.

Facts are gate's trial setting (the bundled compliant sample for every image, created
yesterday): the compliant image is the sample's digest; ``nginx:1.27`` breaks the
reference policies, which need no facts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from gate.audit.kube import KubeApi
from tests.e2e.audit import (
    api_of,
    create,
    deployment,
    events_of,
    install_crds,
    pod,
    pod_spec,
    report_of,
    run_once,
    template,
)
from tests.e2e.cluster import REPO_ROOT, Cluster

COMPLIANT = (
    "us-docker.pkg.dev/gate-samples/apps/hello@"
    "sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542"
)
BAD = "nginx:1.27"
BAD_ID = "docker.io/library/nginx@sha256:" + "a" * 64
BREAK_GLASS = {"alpha.image-policy.k8s.io/break-glass": "true"}


@pytest.fixture(scope="module")
def env(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("audit-once")
    metadata = json.loads((REPO_ROOT / "samples" / "compliant-metadata.json").read_text())
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday
    (folder / "metadata.json").write_text(json.dumps(metadata))
    install_crds(cluster, "policyreport")
    return {
        "GATE_KUBECONFIG": str(cluster.kubeconfig),
        "GATE_TRIAL_METADATA": str(folder / "metadata.json"),
        "GATE_TRIAL_SCAN": str(REPO_ROOT / "samples" / "trivy-clean.json"),
        "HOME": str(folder),
    }


def in_namespace(found: dict[str, Any], namespace: str, key: str = "workloads") -> dict[str, Any]:
    return {f"{w['kind']}/{w['name']}": w for w in found[key] if w["namespace"] == namespace}


def running(api: KubeApi, namespace: str, name: str, owner: Any, image: str = COMPLIANT) -> None:
    ids = [BAD_ID if image == BAD else image]
    pod(api, namespace, name, pod_spec(image), ids, owned_by=owner)


def controller(
    api: KubeApi, namespace: str, path: str, plural: str, name: str, spec: dict[str, Any]
) -> dict[str, Any]:
    return create(api, f"{path}/namespaces/{namespace}/{plural}", name, {"spec": spec})


def expected_code(found: dict[str, Any]) -> int:
    """The exit code the summary calls for: 2 errors, 1 violations, else 0."""
    summary = found["summary"]
    if found["errors"] or summary["errored"]:
        return 2
    return 1 if summary["violating"] else 0


def test_every_pod_bearing_kind_is_one_workload_listed_page_by_page(
    cluster: Cluster, namespace: str, env: dict[str, str]
) -> None:
    api, ns = api_of(cluster), namespace
    apps, batch = "/apis/apps/v1", "/apis/batch/v1"
    labels = {"app": "x"}
    tpl = template(pod_spec(COMPLIANT), labels)
    selector = {"matchLabels": labels}
    deployment(api, ns, "web", pod_spec(COMPLIANT), [COMPLIANT], replicas=2)
    idle = create(api, f"{apps}/namespaces/{ns}/deployments", "idle",
                  {"spec": {"replicas": 0, "selector": selector, "template": tpl}})  # fmt: skip
    create(api, f"{apps}/namespaces/{ns}/replicasets", "idle-1",
           {"spec": {"replicas": 0, "selector": selector, "template": tpl}}, idle)  # fmt: skip
    sts = controller(api, ns, apps, "statefulsets", "db",
                     {"serviceName": "db", "selector": selector, "template": tpl})  # fmt: skip
    ds = controller(api, ns, apps, "daemonsets", "agent", {"selector": selector, "template": tpl})
    rc = controller(api, ns, "/api/v1", "replicationcontrollers", "legacy",
                    {"replicas": 1, "selector": labels, "template": tpl})  # fmt: skip
    rs = controller(api, ns, apps, "replicasets", "lone",
                    {"replicas": 1, "selector": selector, "template": tpl})  # fmt: skip
    job_spec = {"template": {**tpl, "spec": {**tpl["spec"], "restartPolicy": "Never"}}}
    cron = controller(api, ns, batch, "cronjobs", "nightly",
                      {"schedule": "0 3 * * *", "jobTemplate": {"spec": job_spec}})  # fmt: skip
    job = create(api, f"{batch}/namespaces/{ns}/jobs", "nightly-1", {"spec": job_spec}, cron)
    old = create(api, f"{batch}/namespaces/{ns}/jobs", "nightly-0", {"spec": job_spec}, cron)
    controller(api, ns, batch, "jobs", "once", job_spec)
    for i in range(2):
        running(api, ns, f"db-{i}", sts)
        running(api, ns, f"agent-{i}", ds)
    running(api, ns, "legacy-0", rc)
    running(api, ns, "lone-0", rs)
    running(api, ns, "nightly-1-0", job)
    pod(api, ns, "nightly-0-0", pod_spec(BAD), [BAD_ID], owned_by=old, phase="Succeeded")
    running(api, ns, "alone", None)
    custom = {"apiVersion": "example.com/v1", "kind": "Rollout", "metadata": {"name": "r", "uid": "0b5c"}}  # fmt: skip
    running(api, ns, "rolled", custom)

    code, found = run_once(env, "--no-events", GATE_AUDIT_PAGE_SIZE="2", GATE_AUDIT_REPORTS="none")
    listed = in_namespace(found, ns)
    assert set(listed) == {
        "Deployment/web", "Deployment/idle", "StatefulSet/db", "DaemonSet/agent",
        "ReplicationController/legacy", "ReplicaSet/lone", "CronJob/nightly", "Job/once",
        "Pod/alone", "Pod/rolled",
    }, sorted(listed)  # fmt: skip
    pods = {name: w["pods"] for name, w in listed.items()}
    assert pods["Deployment/web"] == pods["StatefulSet/db"] == pods["DaemonSet/agent"] == 2
    assert pods["CronJob/nightly"] == 1  # the Succeeded Pod of the older Job runs nothing
    assert pods["Deployment/idle"] == pods["Job/once"] == 0
    assert {i["digest_from"] for i in listed["Deployment/idle"]["images"]} == {"template"}
    assert {w["status"] for w in listed.values()} == {"compliant"}, listed
    assert code == expected_code(found)


def test_exempt_namespaces_modes_and_break_glass_apply_as_at_admission(
    cluster: Cluster, env: dict[str, str]
) -> None:
    api = api_of(cluster)
    main, exempt, relaxed = (cluster.create_namespace(p) for p in ("main", "exempt", "relaxed"))
    pod(api, main, "bad", pod_spec(BAD), [BAD_ID])
    deployment(api, main, "urgent", pod_spec(BAD), [BAD_ID], replicas=1, annotations=BREAK_GLASS)
    pod(api, exempt, "bad", pod_spec(BAD), [BAD_ID])
    pod(api, relaxed, "bad", pod_spec(BAD), [BAD_ID])

    code, found = run_once(
        env,
        "--no-events",
        GATE_AUDIT_REPORTS="none",
        GATE_EXEMPT_NAMESPACES=f"kube-system,{exempt}",
        GATE_NAMESPACE_MODES=f"{relaxed}=warn",
    )
    assert code == expected_code(found) >= 1
    assert in_namespace(found, exempt) == {} and exempt in found["summary"]["exempt_namespaces"]
    bad = in_namespace(found, main)["Pod/bad"]
    assert bad["status"] == "violating" and bad["admission"] == "deny"
    assert {f["mode"] for f in bad["findings"]} == {"enforce"}
    assert {"GATE-REF-001", "GATE-REF-002"} <= set(bad["policies"])
    assert "Deployment/urgent" not in in_namespace(found, main)
    urgent = in_namespace(found, main, "break_glass")["Deployment/urgent"]
    assert urgent["break_glass"] and urgent["admission"] == "allow"
    assert urgent["status"] == "violating" and {f["mode"] for f in urgent["findings"]} == {"audit"}
    warned = in_namespace(found, relaxed)["Pod/bad"]
    assert warned["admission"] == "allow" and {f["mode"] for f in warned["findings"]} == {"warn"}


def test_reports_are_written_once_kept_while_unchanged_and_removed_with_their_workload(
    cluster: Cluster, namespace: str, env: dict[str, str]
) -> None:
    api = api_of(cluster)
    made = pod(api, namespace, "bad", pod_spec(BAD), [BAD_ID])
    uid = made["metadata"]["uid"]
    code, found = run_once(env, "--no-events")
    assert code == expected_code(found) >= 1
    report = report_of(cluster, namespace, uid)
    assert report["summary"]["fail"] >= 2 and report["scope"]["name"] == "bad"
    skipped = {r["policy"] for r in report["results"] if r["result"] == "skip"}
    assert "GATE-IMG-002" in skipped  # never fetched: the reference policies denied first
    version = report["metadata"]["resourceVersion"]
    summary = json.loads(
        cluster.kubectl("get", "clusterpolicyreports", "gate-audit", "-o", "json").stdout
    )
    assert any(r["policy"] == "GATE-REF-001" and r["result"] == "fail" for r in summary["results"])

    run_once(env, "--no-events")
    assert report_of(cluster, namespace, uid)["metadata"]["resourceVersion"] == version

    api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/bad")
    run_once(env, "--no-events")
    assert report_of(cluster, namespace, uid) is None


def test_openreports_need_their_crds_and_events_are_written_anyway(
    cluster: Cluster, namespace: str, env: dict[str, str]
) -> None:
    api = api_of(cluster)
    uid = pod(api, namespace, "bad", pod_spec(BAD), [BAD_ID])["metadata"]["uid"]
    if cluster.kubectl("get", "crd", "reports.openreports.io", check=False).returncode != 0:
        code, found = run_once(env, "--reports", "openreports")
        assert code == 2
        (error,) = [e for e in found["errors"] if "openreports" in e["hint"]]
        assert "deploy/crds/openreports" in error["hint"] and "Report" in error["message"]
        (event,) = events_of(cluster, namespace, uid)
        assert event["reason"] == "PolicyViolation" and "first audit" in event["message"]
    install_crds(cluster, "openreports")
    code, found = run_once(env, "--reports", "openreports", "--no-events")
    assert found["errors"] == []
    report = report_of(cluster, namespace, uid, "reports.openreports.io")
    assert report["apiVersion"] == "openreports.io/v1alpha1" and report["source"] == "gate"
    assert report["summary"]["fail"] >= 2
    cluster.kubectl("get", "clusterreports.openreports.io", "gate-audit")


def test_a_cluster_gate_cannot_reach_exits_2_with_one_json_document(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    code, found = run_once({"GATE_KUBECONFIG": str(config), "HOME": str(tmp_path)})
    assert code == 2 and found["workloads"] == []
    (error,) = found["errors"]
    assert error["kind"] == "kubernetes" and "did not answer" in error["message"]
