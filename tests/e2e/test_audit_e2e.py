"""``gate audit`` against a real kube-apiserver, with real facts (issue 15).

Images live in a real registry (Debian's docker-registry on 127.0.0.1) and their scans in
Artifact Analysis, served by the Grafeas test server on 127.0.0.1 through the real Grafeas
client. The audit runs as ``deploy/kubernetes/audit`` deploys it: the Deployment's
``GATE_*`` settings and the ServiceAccount's token, so with exactly the RBAC the manifests
grant. Workloads are created through the API and their Pods' statuses patched with the
``imageID`` a runtime would report.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafeas.grafeas_v1 import DiscoveryOccurrence, Severity

from tests.conftest import require_tool
from tests.e2e.audit import (
    AuditProcess,
    api_of,
    audit_manifests,
    delete_pods,
    deployment,
    deployment_env,
    events_of,
    install_audit_rbac,
    install_crds,
    pod,
    pod_spec,
    report_of,
    rollout,
    run_once,
    token_kubeconfig,
)
from tests.e2e.cluster import Cluster
from tests.integration.grafeas_server import (
    GoogleApiServer,
    GrafeasServicer,
    discovery_occurrence,
    vulnerability_occurrence,
)
from tests.integration.oci_push import Pusher, image_config, push_image
from tests.integration.registry_server import RegistryServer

PROJECT = "acme"
LABELS = {
    "org.opencontainers.image.source": "https://example.com/acme/web",
    "org.opencontainers.image.revision": "abc123",
}
VULNERABILITIES = "GATE-IMG-002"
CVE = "CVE-2026-31337"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    binary = require_tool("docker-registry", "GATE_DOCKER_REGISTRY")
    server = RegistryServer(binary, tmp_path_factory.mktemp("registry")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def grafeas() -> Iterator[GrafeasServicer]:
    with GoogleApiServer() as api:
        servicer = api.add(GrafeasServicer())
        api.start()
        servicer.address = api.address  # type: ignore[attr-defined]
        yield servicer


@pytest.fixture(scope="module")
def images(registry: RegistryServer, grafeas: GrafeasServicer) -> dict[str, str]:
    """web:1 (vulnerable later) and web:2 (the fix), pushed and scanned clean."""
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pusher, found = Pusher(registry.url), {}
    for tag in ("1", "2"):
        labels = {**LABELS, "org.opencontainers.image.revision": f"rev{tag}"}
        config = image_config(user="65532", labels=labels, created=yesterday)
        pushed = push_image(pusher, "acme/web", config, tag=tag)
        found[tag] = f"{registry.host}/acme/web@{pushed.digest}"
        scanned = discovery_occurrence(
            f"https://{found[tag]}", DiscoveryOccurrence.AnalysisStatus.FINISHED_SUCCESS
        )
        grafeas.put(PROJECT, scanned)
    found["tag"] = f"{registry.host}/acme/web:1"
    return found


@pytest.fixture(scope="module")
def audit_env(
    cluster: Cluster,
    registry: RegistryServer,
    grafeas: GrafeasServicer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """The audit Deployment's settings and account, pointed at this machine's facts."""
    folder = tmp_path_factory.mktemp("audit")
    manifests = audit_manifests(cluster)
    namespace = install_audit_rbac(cluster, manifests)
    install_crds(cluster, "policyreport")
    kubeconfig = token_kubeconfig(cluster, namespace, "gate-audit", folder / "kubeconfig")
    data = folder / "data.json"
    approved = {"registries": {"approved": [f"{registry.host}/**"]}}
    data.write_text(json.dumps({"gate": {"params": approved}}))
    return deployment_env(manifests) | {
        "GATE_KUBECONFIG": str(kubeconfig),
        "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": registry.host,
        "GATE_ARTIFACT_ANALYSIS_ENDPOINT": grafeas.address,  # type: ignore[attr-defined]
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT,
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_FETCH_TIMEOUT": "20",
        "HOME": str(folder),
    }


def results(report: dict[str, Any], result: str) -> list[dict[str, Any]]:
    return [r for r in report["results"] if r["result"] == result]


def gauge(audit: AuditProcess, namespace: str, policy: str) -> float:
    labels = (("namespace", namespace), ("policy", policy))
    return audit.metrics().get(("gate_audit_violating_workloads", labels), 0.0)


def test_a_new_cve_shows_in_the_report_the_metrics_and_the_events_and_a_fixed_image_clears_it(
    cluster: Cluster,
    namespace: str,
    images: dict[str, str],
    grafeas: GrafeasServicer,
    audit_env: dict[str, str],
    tmp_path: Path,
) -> None:
    api = api_of(cluster)
    web = deployment(api, namespace, "web", pod_spec(images["1"]), [images["1"]], replicas=2)
    uid = web["metadata"]["uid"]
    audit = AuditProcess(tmp_path, audit_env, every="2s")
    try:
        audit.wait_runs(1)
        report = report_of(cluster, namespace, uid)
        assert report is not None, audit.process.log_tail()
        assert report["scope"]["kind"] == "Deployment" and report["scope"]["uid"] == uid
        assert report["summary"]["fail"] == 0 and report["summary"]["pass"] > 0, report
        assert report["metadata"]["ownerReferences"][0]["uid"] == uid
        assert events_of(cluster, namespace, uid) == []  # compliant when first seen: no Event
        assert gauge(audit, namespace, VULNERABILITIES) == 0

        resource = f"https://{images['1']}"
        grafeas.put(PROJECT, vulnerability_occurrence(resource, CVE, Severity.CRITICAL))
        done = audit.runs()
        audit.wait_runs(done + 2)  # a run that started after the CVE was published

        report = report_of(cluster, namespace, uid)
        (failed,) = results(report, "fail")
        assert failed["policy"] == VULNERABILITIES and CVE in failed["message"]
        assert failed["properties"]["digest"] == images["1"].split("@")[1]
        assert failed["properties"]["mode"] == "enforce" and failed["severity"] == "high"
        assert report["metadata"]["annotations"]["gate.dev/status"] == "violating"
        assert gauge(audit, namespace, VULNERABILITIES) == 1
        (event,) = events_of(cluster, namespace, uid)
        assert (event["type"], event["reason"]) == ("Warning", "PolicyViolation")
        assert VULNERABILITIES in event["message"] and "was compliant" in event["message"]
        assert event["source"]["component"] == "gate-audit"
        lines = [
            line
            for line in audit.log_lines()
            if line.get("event") == "audit.workload" and line.get("uid") == uid
        ]
        assert lines and lines[-1]["severity"] == "WARNING"
        assert lines[-1]["policies"] == [VULNERABILITIES]
        assert lines[-1]["images"][0]["digest"] == images["1"].split("@")[1]

        # The fix: the Deployment rolls out web:2; the old Pods are gone.
        api.request(
            "PATCH",
            f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
            body={"spec": {"template": {"spec": pod_spec(images["2"])}}},
            content_type="application/merge-patch+json",
        )
        rollout(api, namespace, web, pod_spec(images["2"]), [images["2"]], revision="2", replicas=2)
        delete_pods(api, namespace, ["web-1-0", "web-1-1"])
        done = audit.runs()
        audit.wait_runs(done + 2)

        report = report_of(cluster, namespace, uid)
        assert results(report, "fail") == [], report
        assert {r["properties"]["digest"] for r in report["results"]} == {images["2"].split("@")[1]}
        assert gauge(audit, namespace, VULNERABILITIES) == 0
        reasons = [e["reason"] for e in events_of(cluster, namespace, uid)]
        assert sorted(reasons) == ["PolicyCompliant", "PolicyViolation"]
        metrics = audit.metrics()
        assert metrics[("gate_audit_images_audited", ())] >= 1
        assert metrics[("gate_audit_last_run_timestamp_seconds", ())] > 0
        assert metrics[("gate_audit_last_run_duration_seconds", ())] > 0
    finally:
        code = audit.stop()
    assert code == 0, audit.process.log_tail()


def test_the_running_digest_is_judged_not_what_the_tag_points_at_now(
    cluster: Cluster,
    namespace: str,
    images: dict[str, str],
    registry: RegistryServer,
    audit_env: dict[str, str],
) -> None:
    """A Pod written with web:1 whose runtime pulled web:1's digest keeps being judged by
    that digest after the tag moves, and still breaks the digest policy as written."""
    api = api_of(cluster)
    made = pod(api, namespace, "tagged", pod_spec(images["tag"]), [images["1"]])
    code, found = run_once(audit_env, "--no-events")
    workload = one(found, namespace, "tagged")
    (image,) = workload["images"]
    assert image["spec"] == images["tag"]
    assert image["digest"] == images["1"].split("@")[1] and image["digest_from"] == "status"
    assert "GATE-REF-001" in workload["policies"], workload
    assert code == 1 and workload["admission"] == "deny", found["errors"]
    assert made["metadata"]["uid"] == workload["uid"]


def test_the_account_can_read_workloads_and_write_only_reports_and_events(
    cluster: Cluster, audit_env: dict[str, str]
) -> None:
    kubeconfig = audit_env["GATE_KUBECONFIG"]

    def can(*args: str) -> bool:
        found = cluster.kubectl(f"--kubeconfig={kubeconfig}", "auth", "can-i", *args, check=False)
        return found.stdout.strip() == "yes"

    for resource in ("pods", "deployments.apps", "replicasets.apps", "statefulsets.apps",
                     "daemonsets.apps", "jobs.batch", "cronjobs.batch", "replicationcontrollers"):  # fmt: skip
        assert can("list", resource, "-A"), resource
        assert not can("update", resource, "-A") and not can("delete", resource, "-A"), resource
    assert can("create", "policyreports.wgpolicyk8s.io", "-A")
    assert can("create", "clusterpolicyreports.wgpolicyk8s.io")
    assert can("create", "events", "-A")
    for forbidden in ("secrets", "configmaps", "namespaces"):
        assert not can("list", forbidden, "-A"), forbidden
    assert not can("patch", "pods/status", "-A") and not can("watch", "pods", "-A")


def one(found: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    (workload,) = [
        w
        for w in found["workloads"] + found["break_glass"]
        if (w["namespace"], w["name"]) == (namespace, name)
    ]
    return workload
