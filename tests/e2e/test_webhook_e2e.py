"""gate registered as a real validating webhook of a real kube-apiserver (issue 8).

The ValidatingWebhookConfiguration is the one ``deploy/kubernetes`` renders (the README's
deployment), pointed at ``gate serve`` on 127.0.0.1 over TLS (:mod:`tests.e2e.webhook`).
Image facts are gate's trial setting for local facts: the bundled compliant sample's
metadata and clean Trivy report (``samples/``), so the compliant image is the sample's
digest in an approved registry. Objects go in with kubectl, as a person would apply them,
and the assertions read what kubectl prints.

They need issue 5's ``gate serve`` and ``deploy/kubernetes``: without them they skip on a
developer's machine and fail with ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require
from tests.e2e.cluster import Cluster, ensure_default_service_account
from tests.e2e.pki import CertificateAuthority
from tests.e2e.webhook import (
    GateServer,
    HangingServer,
    SlowProxy,
    deployment_env,
    gate_namespace,
    register,
    rendered_manifests,
    unregister,
    webhook_configuration,
    webhook_pending,
)

PENDING = webhook_pending()


@pytest.fixture(scope="module", autouse=True)
def _webhook_is_there() -> None:
    """Skip outside CI, fail in CI, when gate serve or deploy/kubernetes is missing."""
    require(PENDING is None, PENDING or "")


REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "samples"
COMPLIANT = (
    "us-docker.pkg.dev/gate-samples/apps/hello@"
    "sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542"
)
TAG_ONLY = "nginx:latest"
BREAK_GLASS = "alpha.image-policy.k8s.io/break-glass"


# -- objects -------------------------------------------------------------------------


def pod_spec(image: str) -> dict[str, Any]:
    """A Pod spec that passes every workload check: non-root, no escalation, read-only."""
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "app",
                "image": image,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }


def pod(name: str, image: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": dict(annotations or {})},
        "spec": pod_spec(image),
    }


def deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(image)},
        },
    }


def job(name: str, image: str) -> dict[str, Any]:
    spec = {**pod_spec(image), "restartPolicy": "Never"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": spec}},
    }


def cronjob(name: str, image: str) -> dict[str, Any]:
    spec = {**pod_spec(image), "restartPolicy": "OnFailure"}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
    }


def kubectl_apply(cluster: Cluster, namespace: str, obj: Mapping[str, Any], *flags: str) -> Any:
    return cluster.kubectl(
        "-n", namespace, "apply", *flags, "-f", "-", input=yaml.safe_dump(dict(obj)), check=False
    )


def stored(cluster: Cluster, namespace: str, kind: str, name: str) -> bool:
    result = cluster.kubectl("-n", namespace, "get", kind, name, "-o", "name", check=False)
    if result.returncode == 0:
        return True
    assert "NotFound" in result.stderr, result.stderr
    return False


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


# -- gate and its registration ---------------------------------------------------------


@pytest.fixture(scope="module")
def manifests(cluster: Cluster) -> list[dict[str, Any]]:
    return rendered_manifests(cluster)


@pytest.fixture(scope="module")
def webhook_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("webhook-pki"), "gate-webhook-ca")


@pytest.fixture(scope="module")
def trial_facts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The compliant sample's facts, its creation time moved to yesterday so that the
    freshness policy passes on any day these tests run."""
    folder = tmp_path_factory.mktemp("facts")
    metadata = json.loads((SAMPLES / "compliant-metadata.json").read_text())
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder / "metadata.json", SAMPLES / "trivy-clean.json"


def start_gate(
    tmp_path_factory: pytest.TempPathFactory,
    ca: CertificateAuthority,
    facts: tuple[Path, Path],
    manifests: list[dict[str, Any]],
    mode: str | None = None,
) -> GateServer:
    """``gate serve`` with the Deployment's settings, trial facts, and ``mode`` if given."""
    workdir = tmp_path_factory.mktemp(f"gate-{mode or 'deployed'}")
    server = GateServer(
        workdir,
        ca,
        metadata=facts[0],
        scan=facts[1],
        mode=mode,
        env=deployment_env(manifests, workdir),
    )
    return server.start()


@pytest.fixture(scope="module")
def enforcing_gate(
    tmp_path_factory: pytest.TempPathFactory,
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    trial_facts: tuple[Path, Path],
) -> Iterator[GateServer]:
    server = start_gate(tmp_path_factory, webhook_ca, trial_facts, manifests)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def probe_namespace(cluster: Cluster) -> str:
    return cluster.create_namespace("probe")


def probe(cluster: Cluster, namespace: str) -> tuple[str, str]:
    """Dry-run a tag-only Pod: ('denied' | 'warned' | 'allowed' | 'failed', kubectl output)."""
    result = kubectl_apply(cluster, namespace, pod("probe", TAG_ONLY), "--dry-run=server")
    text = result.stdout + result.stderr
    if result.returncode == 0:
        return ("warned" if warnings_of(result.stderr) else "allowed"), text
    if "failed calling webhook" in text:
        return "failed", text
    if "denied the request" in text:
        return "denied", text
    return "other", text


def wait_for(
    cluster: Cluster,
    namespace: str,
    state: str,
    served_by: GateServer | None = None,
    timeout: float = 60.0,
) -> None:
    """The API server picks webhook configurations up from a watch: wait until it acts on
    the new one, seen as the probe's outcome and, with ``served_by``, as a decision that
    server logged for the probe (two gates can give the same answer)."""
    deadline = time.monotonic() + timeout
    seen = ("", "")
    while time.monotonic() < deadline:
        before = len(probes_decided(served_by, namespace)) if served_by else 0
        seen = probe(cluster, namespace)
        if seen[0] == state and (
            served_by is None or len(probes_decided(served_by, namespace)) > before
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"webhook not {state} within {timeout:.0f} s; last: {seen[0]}\n{seen[1]}")


def probes_decided(server: GateServer, namespace: str) -> list[dict[str, Any]]:
    return [d for d in server.decisions() if d.get("namespace") == namespace]


@pytest.fixture(scope="module")
def webhook(
    cluster: Cluster,
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    enforcing_gate: GateServer,
    probe_namespace: str,
) -> Iterator[dict[str, Any]]:
    """The manifests' webhook configuration, registered and pointed at the enforcing gate."""
    config = webhook_configuration(manifests, enforcing_gate.port, webhook_ca.cert_pem)
    register(cluster, config)
    wait_for(cluster, probe_namespace, "denied", served_by=enforcing_gate)
    yield config
    unregister(cluster, config)


@contextmanager
def pointed_at(
    cluster: Cluster,
    manifests: list[dict[str, Any]],
    ca: CertificateAuthority,
    port: int,
    probe_namespace: str,
    state: str,
    enforcing: GateServer,
    served_by: GateServer | None = None,
) -> Iterator[dict[str, Any]]:
    """Point the registration at ``port`` until the block ends, then back at ``enforcing``."""
    config = webhook_configuration(manifests, port, ca.cert_pem)
    register(cluster, config)
    try:
        wait_for(cluster, probe_namespace, state, served_by=served_by, timeout=90.0)
        yield config
    finally:
        register(cluster, webhook_configuration(manifests, enforcing.port, ca.cert_pem))
        wait_for(cluster, probe_namespace, "denied", served_by=enforcing)


def timeout_seconds(config: Mapping[str, Any]) -> int:
    return int(config["webhooks"][0].get("timeoutSeconds", 10))


# -- scenarios ---------------------------------------------------------------------------


def test_the_manifest_registration_is_what_the_readme_deploys(
    webhook: dict[str, Any],
) -> None:
    for hook in webhook["webhooks"]:
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert "v1" in hook["admissionReviewVersions"]
        assert hook["clientConfig"]["url"].startswith("https://127.0.0.1:")


def test_tag_only_pod_is_rejected_with_gates_violations(
    cluster: Cluster, webhook: dict[str, Any], namespace: str
) -> None:
    started = time.monotonic()
    result = kubectl_apply(cluster, namespace, pod("tag-only", TAG_ONLY))
    elapsed = time.monotonic() - started
    assert result.returncode != 0, result.stdout
    assert "denied the request" in result.stderr, result.stderr
    for expected in ("GATE-REF-001", "GATE-REF-002", "nginx:latest", "app"):
        assert expected in result.stderr, result.stderr
    assert not stored(cluster, namespace, "pod", "tag-only")
    # gate answered well within the API server's timeout.
    assert elapsed < timeout_seconds(webhook), elapsed
    # The Python client sees gate's 403 and the same violations.
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    with pytest.raises(client.exceptions.ApiException) as denied:
        core.create_namespaced_pod(namespace, pod("tag-only", TAG_ONLY))
    assert denied.value.status == 403, denied.value.body
    status = json.loads(denied.value.body)
    assert "GATE-REF-001" in status["message"] and "nginx:latest" in status["message"]


def test_compliant_pod_is_created(
    cluster: Cluster, webhook: dict[str, Any], namespace: str
) -> None:
    result = kubectl_apply(cluster, namespace, pod("compliant", COMPLIANT))
    assert result.returncode == 0, result.stderr
    assert not warnings_of(result.stderr), result.stderr
    assert stored(cluster, namespace, "pod", "compliant")


@pytest.mark.parametrize("make", [deployment, cronjob, job], ids=["Deployment", "CronJob", "Job"])
def test_workload_with_a_bad_image_is_rejected_at_apply_time(
    cluster: Cluster, webhook: dict[str, Any], namespace: str, make: Any
) -> None:
    obj = make("bad", TAG_ONLY)
    result = kubectl_apply(cluster, namespace, obj)
    assert result.returncode != 0, result.stdout
    assert "denied the request" in result.stderr and "GATE-REF-001" in result.stderr
    assert not stored(cluster, namespace, obj["kind"].lower(), "bad")
    # The same workload with the compliant image goes in.
    good = make("good", COMPLIANT)
    result = kubectl_apply(cluster, namespace, good)
    assert result.returncode == 0, result.stderr
    assert stored(cluster, namespace, good["kind"].lower(), "good")


def test_server_dry_run_is_evaluated_and_leaves_no_trace(
    cluster: Cluster, webhook: dict[str, Any], namespace: str
) -> None:
    denied = kubectl_apply(cluster, namespace, pod("dry-bad", TAG_ONLY), "--dry-run=server")
    assert denied.returncode != 0 and "GATE-REF-001" in denied.stderr, denied.stderr
    admitted = kubectl_apply(cluster, namespace, pod("dry-good", COMPLIANT), "--dry-run=server")
    assert admitted.returncode == 0, admitted.stderr
    assert "server dry run" in admitted.stdout
    assert not stored(cluster, namespace, "pod", "dry-bad")
    assert not stored(cluster, namespace, "pod", "dry-good")


def test_break_glass_annotation_is_admitted(
    cluster: Cluster, webhook: dict[str, Any], namespace: str
) -> None:
    emergency = pod("break-glass", TAG_ONLY, {BREAK_GLASS: "true"})
    result = kubectl_apply(cluster, namespace, emergency)
    assert result.returncode == 0, result.stderr
    assert stored(cluster, namespace, "pod", "break-glass")


def test_exempt_namespaces_are_admitted(
    cluster: Cluster, webhook: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    own = [m for m in manifests if m.get("kind") == "Namespace"]
    cert_manager = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}}
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([*own, cert_manager]))
    for namespace in ("kube-system", gate_namespace(manifests), "cert-manager"):
        ensure_default_service_account(core, namespace)
        result = kubectl_apply(cluster, namespace, pod("exempt-tag-only", TAG_ONLY))
        assert result.returncode == 0, f"{namespace}: {result.stderr}"
        assert stored(cluster, namespace, "pod", "exempt-tag-only")


def test_warn_mode_creates_and_kubectl_prints_gates_warnings(
    cluster: Cluster,
    webhook: dict[str, Any],
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    trial_facts: tuple[Path, Path],
    enforcing_gate: GateServer,
    probe_namespace: str,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    warning_gate = start_gate(tmp_path_factory, webhook_ca, trial_facts, manifests, mode="warn")
    try:
        with pointed_at(
            cluster,
            manifests,
            webhook_ca,
            warning_gate.port,
            probe_namespace,
            "warned",
            enforcing_gate,
        ):
            result = kubectl_apply(cluster, namespace, pod("warned", TAG_ONLY))
            assert result.returncode == 0, result.stderr
            warnings = warnings_of(result.stderr)
            assert any("GATE-REF-001" in w for w in warnings), result.stderr
            assert stored(cluster, namespace, "pod", "warned")
    finally:
        warning_gate.stop()


def test_gate_stopped_with_failure_policy_fail_refuses(
    cluster: Cluster,
    webhook: dict[str, Any],
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    trial_facts: tuple[Path, Path],
    enforcing_gate: GateServer,
    probe_namespace: str,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stopped = start_gate(tmp_path_factory, webhook_ca, trial_facts, manifests)
    port = stopped.port
    stopped.stop()
    with pointed_at(
        cluster, manifests, webhook_ca, port, probe_namespace, "failed", enforcing_gate
    ):
        result = kubectl_apply(cluster, namespace, pod("while-down", COMPLIANT))
        assert result.returncode != 0, result.stdout
        assert "failed calling webhook" in result.stderr, result.stderr
        assert "connection refused" in result.stderr, result.stderr
        assert not stored(cluster, namespace, "pod", "while-down")


def test_gate_slower_than_timeout_seconds_is_refused(
    cluster: Cluster,
    webhook: dict[str, Any],
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    enforcing_gate: GateServer,
    probe_namespace: str,
    namespace: str,
) -> None:
    limit = timeout_seconds(webhook)
    proxy = SlowProxy(enforcing_gate.port, delay=limit + 5).start()
    try:
        with pointed_at(
            cluster,
            manifests,
            webhook_ca,
            proxy.port,
            probe_namespace,
            "failed",
            enforcing_gate,
        ):
            started = time.monotonic()
            result = kubectl_apply(cluster, namespace, pod("too-slow", COMPLIANT))
            elapsed = time.monotonic() - started
            assert result.returncode != 0, result.stdout
            assert "failed calling webhook" in result.stderr, result.stderr
            assert any(
                word in result.stderr for word in ("deadline exceeded", "Timeout", "timeout")
            ), result.stderr
            assert elapsed >= limit - 1, elapsed
            assert not stored(cluster, namespace, "pod", "too-slow")
    finally:
        proxy.stop()


def test_hung_registry_is_denied_by_gates_budget_before_the_api_server_times_out(
    cluster: Cluster,
    webhook: dict[str, Any],
    manifests: list[dict[str, Any]],
    webhook_ca: CertificateAuthority,
    enforcing_gate: GateServer,
    probe_namespace: str,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Facts from a registry that never answers: gate's budget (the Deployment's
    GATE_BUDGET_SECONDS, below timeoutSeconds) ends the review with gate's own denial,
    so the API server shows gate's message rather than a webhook timeout."""
    registry = HangingServer().start()
    workdir = tmp_path_factory.mktemp("gate-live-facts")
    approved = workdir / "registries.json"
    host = f"127.0.0.1:{registry.port}"
    approved.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{host}/**"]}}}})
    )
    env = deployment_env(manifests, workdir)
    env["GATE_INSECURE_REGISTRIES"] = host
    live = GateServer(workdir, webhook_ca, data=approved, env=env).start()
    limit = timeout_seconds(webhook)
    budget = float(env.get("GATE_BUDGET_SECONDS", "8"))
    assert budget < limit, "the Deployment's budget must stay below timeoutSeconds"
    try:
        with pointed_at(
            cluster,
            manifests,
            webhook_ca,
            live.port,
            probe_namespace,
            "denied",
            enforcing_gate,
            served_by=live,
        ):
            image = f"{host}/apps/hung@sha256:{'0' * 64}"
            started = time.monotonic()
            result = kubectl_apply(cluster, namespace, pod("hung-registry", image))
            elapsed = time.monotonic() - started
            assert result.returncode != 0, result.stdout
            assert "denied the request" in result.stderr, result.stderr
            assert "failed calling webhook" not in result.stderr, result.stderr
            assert "budget" in result.stderr, result.stderr
            assert budget - 1 <= elapsed < limit, elapsed
            assert registry.connections >= 1
            decided = [d for d in live.decisions() if d.get("name") == "hung-registry"]
            assert [d["decision"] for d in decided] == ["deny"], live.log()
            assert not stored(cluster, namespace, "pod", "hung-registry")
    finally:
        live.stop()
        registry.stop()
