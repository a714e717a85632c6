"""deploy/kubernetes renders with ``kubectl kustomize`` and says what the design asks;
tls/make-certs.sh makes a CA, a serving certificate it signs, the Secret and the caBundle."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.webhook.kinds import KINDS, SUBRESOURCES
from tests.conftest import REPO_ROOT, require_tool

DEPLOY = REPO_ROOT / "deploy" / "kubernetes"


def render(folder: Path) -> dict[str, dict[str, Any]]:
    kubectl = require_tool("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True, timeout=120
    )
    docs = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    return {doc["kind"]: doc for doc in docs}


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return render(DEPLOY)


def registered(hook: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(group, version, resource) of every CREATE/UPDATE rule of a webhook."""
    return {
        (group, version, resource)
        for rule in hook["rules"]
        for group in rule["apiGroups"]
        for version in rule["apiVersions"]
        for resource in rule["resources"]
        if set(rule["operations"]) == {"CREATE", "UPDATE"} and rule["scope"] == "Namespaced"
    }


def handled() -> set[tuple[str, str, str]]:
    """What gate.webhook.kinds says admission handles, as webhook rules name it."""
    kinds = {(k.group, k.version, k.plural) for k in KINDS}
    core = {k.plural: k for k in KINDS if k.group == ""}
    subresources = {
        (core[s.split("/")[0]].group, core[s.split("/")[0]].version, s) for s in SUBRESOURCES
    }
    return kinds | subresources


def test_the_manifests_render_every_object(objects: dict[str, dict[str, Any]]) -> None:
    assert set(objects) == {
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "Issuer",
        "Certificate",
        "NetworkPolicy",
    }
    namespace = objects["Namespace"]["metadata"]["name"]
    for kind, obj in objects.items():
        if kind not in (
            "Namespace",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ):
            assert obj["metadata"]["namespace"] == namespace, kind


def test_the_deployment_is_hardened(objects: dict[str, dict[str, Any]]) -> None:
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert (
        pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    )
    assert pod["affinity"]["podAntiAffinity"]
    (gate,) = pod["containers"]
    context = gate["securityContext"]
    assert (
        context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    )
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(gate["resources"])
    assert gate["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gate["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in gate["env"]}
    assert env["GATE_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    budget = float(env["GATE_BUDGET_SECONDS"]["value"])
    timeout = objects["ValidatingWebhookConfiguration"]["webhooks"][0]["timeoutSeconds"]
    assert budget <= timeout - 1, "the budget must end before the API server gives up"
    pdb = objects["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] >= 1
    assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    service = objects["Service"]["spec"]
    assert (
        service["ports"][0]["port"] == 443 and service["selector"] == pdb["selector"]["matchLabels"]
    )


def test_the_webhook_registration(objects: dict[str, dict[str, Any]]) -> None:
    config = objects["ValidatingWebhookConfiguration"]
    (hook,) = config["webhooks"]
    assert hook["admissionReviewVersions"] == ["v1"] and hook["sideEffects"] == "None"
    assert hook["failurePolicy"] == "Fail" and hook["matchPolicy"] == "Equivalent"
    assert 1 <= hook["timeoutSeconds"] <= 30
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["path"], service["port"]) == ("gate", "/validate", 443)
    gate_ns = objects["Namespace"]["metadata"]["name"]
    (expression,) = hook["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name" and expression["operator"] == "NotIn"
    assert set(expression["values"]) == {"kube-system", gate_ns, "cert-manager"}
    assert registered(hook) == handled()
    certificate = objects["Certificate"]
    injected = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert injected == f"{certificate['metadata']['namespace']}/{certificate['metadata']['name']}"
    volumes = objects["Deployment"]["spec"]["template"]["spec"]["volumes"]
    secret = certificate["spec"]["secretName"]
    assert any(v.get("secret", {}).get("secretName") == secret for v in volumes)
    assert f"gate.{gate_ns}.svc" in certificate["spec"]["dnsNames"]


def test_the_mutating_webhook_registration(objects: dict[str, dict[str, Any]]) -> None:
    """/mutate sees what /validate sees; it fails open (Ignore) because /validate fails closed."""
    (validating,) = objects["ValidatingWebhookConfiguration"]["webhooks"]
    config = objects["MutatingWebhookConfiguration"]
    (hook,) = config["webhooks"]
    assert hook["reinvocationPolicy"] == "IfNeeded" and hook["sideEffects"] == "None"
    assert hook["failurePolicy"] == "Ignore" and validating["failurePolicy"] == "Fail"
    assert hook["admissionReviewVersions"] == ["v1"] and hook["matchPolicy"] == "Equivalent"
    env = {
        e["name"]: e
        for e in objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert float(env["GATE_BUDGET_SECONDS"]["value"]) <= hook["timeoutSeconds"] - 1 <= 29
    assert hook["rules"] == validating["rules"]
    assert registered(hook) == handled()
    assert hook["namespaceSelector"] == validating["namespaceSelector"]
    service = hook["clientConfig"]["service"]
    assert service == {**validating["clientConfig"]["service"], "path": "/mutate"}
    annotation = "cert-manager.io/inject-ca-from"
    validating_config = objects["ValidatingWebhookConfiguration"]
    assert (
        config["metadata"]["annotations"][annotation]
        == validating_config["metadata"]["annotations"][annotation]
    )


def test_the_namespaces_the_api_server_skips_are_the_ones_gate_exempts(
    objects: dict[str, dict[str, Any]],
) -> None:
    """cert-manager issues gate's certificate: neither webhook may refuse its pods."""
    (hook,) = objects["ValidatingWebhookConfiguration"]["webhooks"]
    (expression,) = hook["namespaceSelector"]["matchExpressions"]
    (gate,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value", "") for e in gate["env"]}
    exempt = set(env["GATE_EXEMPT_NAMESPACES"].split(","))
    gate_ns = objects["Namespace"]["metadata"]["name"]
    assert "cert-manager" in exempt
    assert set(expression["values"]) == exempt | {gate_ns}


def container_port(objects: dict[str, dict[str, Any]], name: str) -> int:
    (gate,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    (port,) = [p["containerPort"] for p in gate["ports"] if p["name"] == name]
    return int(port)


def test_the_deployment_serves_the_new_way_with_its_limits(
    objects: dict[str, dict[str, Any]],
) -> None:
    """gate serve's read deadlines are set, and /metrics has a port of its own."""
    pod = objects["Deployment"]["spec"]["template"]
    (gate,) = pod["spec"]["containers"]
    assert gate["command"] == ["gate", "serve"]
    env = {e["name"]: e.get("value") for e in gate["env"]}
    for name in ("GATE_HEADER_TIMEOUT", "GATE_BODY_TIMEOUT"):
        assert 0 < float(env[name]) <= 10, name
    assert int(env["GATE_MAX_CONNECTIONS"]) >= 100
    # docs/webhook.md, "Memory": a worker needs about 200 MB besides its connections and
    # its facts cache (the policies of each evaluation thread, the decision cache, bodies),
    # a connection up to about 1 MB once it has carried a large body, the facts cache
    # GATE_FACTS_CACHE_BYTES; the arbiter about 64 MB.
    workers, connections = int(env["GATE_WORKERS"]), int(env["GATE_MAX_CONNECTIONS"])
    facts = int(env["GATE_FACTS_CACHE_BYTES"]) / 1e6
    needed = workers * (200 + facts + 1.0 * connections) + 64
    limit = mebibytes(gate["resources"]["limits"]["memory"]) * 1.048576
    assert needed <= limit, f"{needed:.0f} MB needed in a flood of connections, {limit:.0f} allowed"
    assert int(env["GATE_BIND"].rsplit(":", 1)[1]) == container_port(objects, "https")
    metrics = container_port(objects, "metrics")
    assert int(env["GATE_METRICS_BIND"].rsplit(":", 1)[1]) == metrics
    annotations = pod["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/scheme"]) == (
        str(metrics),
        "http",
    )


def test_the_network_policy(objects: dict[str, dict[str, Any]]) -> None:
    """The webhook port only from the control plane, the metrics port only from monitoring."""
    policy = objects["NetworkPolicy"]["spec"]
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    webhook, metrics = policy["ingress"]
    assert webhook["ports"] == [{"port": "https", "protocol": "TCP"}]
    sources = webhook["from"]
    assert sources[0] == {"ipBlock": {"cidr": "192.0.2.0/28"}}  # the placeholder: matches nothing
    assert sources[1] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "konnectivity-agent"}},
    }
    assert len(sources) == 2
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    service = objects["Service"]["spec"]["ports"]
    assert [p["targetPort"] for p in service] == ["https"]  # the Service exposes no metrics


def test_the_control_plane_range_overlay(objects: dict[str, dict[str, Any]]) -> None:
    overlay = render(DEPLOY / "overlays" / "gke-control-plane")
    policy = overlay["NetworkPolicy"]["spec"]
    assert policy["ingress"][0]["from"][0] == {"ipBlock": {"cidr": "172.16.0.0/28"}}
    base = objects["NetworkPolicy"]["spec"]
    assert policy["ingress"][0]["from"][1:] == base["ingress"][0]["from"][1:]
    assert policy["ingress"][1] == base["ingress"][1]
    assert {k: v for k, v in overlay.items() if k != "NetworkPolicy"} == {
        k: v for k, v in objects.items() if k != "NetworkPolicy"
    }


def test_the_opa_sidecar_overlay(objects: dict[str, dict[str, Any]]) -> None:
    overlay = render(DEPLOY / "overlays" / "opa-sidecar")
    containers = {
        c["name"]: c for c in overlay["Deployment"]["spec"]["template"]["spec"]["containers"]
    }
    assert set(containers) == {"gate", "opa"}
    env = {e["name"]: e.get("value") for e in containers["gate"]["env"]}
    assert env["GATE_ENGINE"] == "opa" and env["GATE_OPA_URL"] == "http://127.0.0.1:8181"
    assert "GATE_TLS_CERT" in env  # the base's settings are kept
    assert "--addr=127.0.0.1:8181" in containers["opa"]["args"]
    assert containers["opa"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert overlay["ValidatingWebhookConfiguration"] == objects["ValidatingWebhookConfiguration"]
    assert overlay["MutatingWebhookConfiguration"] == objects["MutatingWebhookConfiguration"]


def test_make_certs_by_hand(tmp_path: Path) -> None:
    require_tool("openssl")
    env = {**os.environ, "GATE_NAMESPACE": "gate-system"}
    script = DEPLOY / "tls" / "make-certs.sh"
    subprocess.run(
        [str(script), str(tmp_path)], check=True, env=env, capture_output=True, timeout=60
    )
    ca, cert = tmp_path / "ca.crt", tmp_path / "tls.crt"
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca), str(cert)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "OK" in verified.stdout
    names = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:gate.gate-system.svc" in names
    secret = yaml.safe_load((tmp_path / "secret.yaml").read_text())
    assert secret["metadata"]["name"] == "gate-webhook-tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == cert.read_bytes()
    bundle = (tmp_path / "cabundle.txt").read_text().strip()
    assert base64.b64decode(bundle) == ca.read_bytes()
    patch = yaml.safe_load((tmp_path / "webhook-patch.yaml").read_text())
    assert patch[0]["path"] == "/webhooks/0/clientConfig/caBundle" and patch[0]["value"] == bundle
    first_ca = ca.read_bytes()
    subprocess.run(
        [str(script), str(tmp_path)], check=True, env=env, capture_output=True, timeout=60
    )
    assert ca.read_bytes() == first_ca  # a renewal keeps the CA, so the caBundle stays valid


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity in Mi or Gi, in MiB."""
    units = {"Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]
