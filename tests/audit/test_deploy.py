"""deploy/kubernetes/audit: its own Deployment running ``gate audit --every``, read-only RBAC
plus the reports and Events it writes, and the webhook's policy settings."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.audit.inventory import KINDS
from gate.audit.reports import REPORT_KINDS
from gate.audit.settings import AuditSettings
from gate.webhook.kinds import KINDS as POD_BEARING
from tests.conftest import REPO_ROOT, require_tool

DEPLOY = REPO_ROOT / "deploy" / "kubernetes"
POLICY_SETTINGS = (
    "GATE_MODE",
    "GATE_POLICY_MODES",
    "GATE_NAMESPACE_MODES",
    "GATE_EXEMPT_NAMESPACES",
    "GATE_BREAK_GLASS",
    "GATE_FAIL_OPEN",
    "GATE_REQUIRED_ATTESTORS",
    "GATE_ENGINE",
)
READ = {"get", "list"}


def render(folder: Path) -> list[dict[str, Any]]:
    kubectl = require_tool("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True, timeout=120
    )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def audit() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in render(DEPLOY / "audit")}


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    (container,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] != "opa"
    ]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_the_audit_is_its_own_hardened_deployment(audit: dict[str, dict[str, Any]]) -> None:
    assert set(audit) == {
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "NetworkPolicy",
    }  # fmt: skip
    deployment = audit["Deployment"]
    assert deployment["metadata"]["name"] == "gate-audit" and deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["gate", "audit"]
    assert pod["serviceAccountName"] == audit["ServiceAccount"]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert (
        context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    )
    assert context["capabilities"]["drop"] == ["ALL"]
    env = env_of(deployment)
    settings = AuditSettings.from_env(env)
    assert settings.interval == 3600 and settings.reports in REPORT_KINDS
    (port,) = container["ports"]
    assert env["GATE_AUDIT_METRICS_BIND"].endswith(f":{port['containerPort']}")
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    webhook = {d["kind"]: d for d in render(DEPLOY)}["Deployment"]
    assert container["image"] == webhook["spec"]["template"]["spec"]["containers"][0]["image"]


def test_the_policy_settings_are_the_webhooks(audit: dict[str, dict[str, Any]]) -> None:
    """The audit judges as admission does: the same modes, exemptions and break-glass."""
    webhook = {d["kind"]: d for d in render(DEPLOY)}["Deployment"]
    mine, theirs = env_of(audit["Deployment"]), env_of(webhook)
    for name in POLICY_SETTINGS:
        assert mine.get(name) == theirs.get(name), name


def test_rbac_reads_the_workloads_and_writes_only_reports_and_events(
    audit: dict[str, dict[str, Any]],
) -> None:
    rules = audit["ClusterRole"]["rules"]
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    listed = {(k.group, k.plural) for k in POD_BEARING}
    for key in listed:
        assert granted[key] == READ, key
    reports = {
        (r.group, r.plural)
        for kind in REPORT_KINDS.values()
        for r in (kind.namespaced, kind.cluster)
    }
    assert set(granted) == listed | reports | {("", "events")}
    assert granted[("", "events")] == {"create"}
    for key in reports:
        assert granted[key] <= {"get", "list", "create", "update", "delete"}, key
    binding = audit["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == audit["ClusterRole"]["metadata"]["name"]
    (subject,) = binding["subjects"]
    account = audit["ServiceAccount"]["metadata"]
    assert (subject["name"], subject["namespace"]) == (account["name"], account["namespace"])


def test_the_audit_lists_every_kind_admission_handles() -> None:
    assert [(r.group, r.version, r.plural, r.kind) for r in KINDS] == [
        (k.group, k.version, k.plural, k.kind) for k in POD_BEARING
    ]


def test_only_monitoring_reaches_the_metrics_port(audit: dict[str, dict[str, Any]]) -> None:
    policy = audit["NetworkPolicy"]["spec"]
    labels = audit["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"] == labels and policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def test_the_webhooks_network_policy_and_pdb_do_not_select_the_audit_pod(
    audit: dict[str, dict[str, Any]],
) -> None:
    labels = audit["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for doc in render(DEPLOY):
        selector = (doc.get("spec") or {}).get("podSelector") or (doc.get("spec") or {}).get(
            "selector"
        )
        match = (selector or {}).get("matchLabels", selector) if isinstance(selector, dict) else {}
        if doc["kind"] in ("NetworkPolicy", "PodDisruptionBudget", "Service") and match:
            assert not match.items() <= labels.items(), doc["kind"]
