#!/usr/bin/env python3
"""``gate audit`` at cluster scale: 10,000 pods over 2,000 distinct images.

Everything real but the cloud: a kube-apiserver on etcd (the end-to-end binaries,
``scripts/e2e-build.sh``), Debian's docker-registry holding every image, and Artifact
Analysis served by the Grafeas test server over gRPC (in a process of its own, indexed
by resource so that the server's own lookups do not dominate; it counts the calls in
flight). The cluster gets Deployments (a ReplicaSet and 5 Pods each), one DaemonSet of
``pods // 10`` Pods and bare Pods (3 per image), each Pod's status patched with the
imageID of the digest it runs; one image in ten has a critical, fixable CVE.

Three runs, one after the other in one process, side by side:

* ``cold``: a new auditor: every manifest and config fetched, every scan read, every
  report created, an Event per violating workload;
* ``warm``: the same auditor again: registry content by digest is cached, every scan is
  read again (as each run does, so a new CVE shows), reports unchanged (none written);
* ``warm, concurrency 2``: the same warm facts judged with 2 images at once instead of
  ``--concurrency``.

    python bench/audit.py                      # 10,000 pods, 2,000 images (several minutes)
    python bench/audit.py --pods 1000 --images 200 --quick
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from gate.audit.kube import KubeApi, KubernetesApi  # noqa: E402
from gate.audit.record import AuditRun  # noqa: E402
from gate.audit.run import Auditor  # noqa: E402
from gate.config import Settings  # noqa: E402
from gate.policy.engines import create_engine  # noqa: E402
from tests.conftest import require_tool  # noqa: E402
from tests.e2e.cluster import Binaries, Cluster  # noqa: E402
from tests.integration.oci_push import (  # noqa: E402
    OCI_MANIFEST,
    Pusher,
    canonical,
    image_config,
    layer,
)
from tests.integration.registry_server import RegistryServer  # noqa: E402

PROJECT = "bench"
LABELS = {"org.opencontainers.image.source": "https://example.com/b", "org.opencontainers.image.revision": "1"}  # fmt: skip
REPLICAS = 5
WORKERS = 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="skip the concurrency-2 run")
    parser.add_argument(
        "--scan-latency-ms",
        type=float,
        default=20.0,
        help="added to each Artifact Analysis call (a round trip to Google's API; 0: none)",
    )
    args = parser.parse_args()
    found = Binaries.find()
    if isinstance(found, str):
        print(f"cannot run: {found}")
        return 2
    with tempfile.TemporaryDirectory(prefix="gate-bench-audit-") as folder:
        return bench(Path(folder), found, args)


def bench(folder: Path, binaries: Binaries, args: argparse.Namespace) -> int:
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores; "
          f"{args.scan_latency_ms:g} ms added to each Artifact Analysis call")  # fmt: skip
    registry = RegistryServer(require_tool("docker-registry"), folder / "registry").start()
    cluster = Cluster(binaries, folder / "cluster").start()
    parent, child = multiprocessing.Pipe()
    scans = multiprocessing.get_context("spawn").Process(
        target=serve_scans, args=(child, args.scan_latency_ms / 1000)
    )
    scans.start()
    try:
        digests = timed("push images", lambda: push(registry, args.images))
        vulnerable = set(digests[::10])
        parent.send((digests, sorted(vulnerable)))
        address = parent.recv()
        timed("install CRDs", lambda: cluster.kubectl("apply", "-k", str(REPO_ROOT / "deploy/crds/policyreport")))  # fmt: skip
        api = KubernetesApi(cluster.api_client(), 60)
        counts = timed("create workloads", lambda: populate(cluster, api, digests, args.pods))
        print(f"  {counts}")
        settings = audit_settings(folder, cluster, registry, address, args.concurrency)
        engine = create_engine(settings)
        first = Auditor(settings, connect(cluster), engine, log_workloads=False)
        rows = [("cold", measure(first, registry, parent))]
        rows.append(("warm", measure(first, registry, parent)))
        if not args.quick:
            slow = settings.with_changes(audit=replace(settings.audit, concurrency=2))
            warm = first.fact_source()
            second = Auditor(slow, connect(cluster), engine, facts=warm, log_workloads=False)
            rows.append(("warm, concurrency 2", measure(second, registry, parent)))
        first.close()
        if not args.quick:
            second.close()
        print_rows(rows, args.concurrency)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        return 0
    finally:
        parent.send(None)
        scans.join(10)
        cluster.stop()
        registry.stop()


def timed(what: str, step: Callable[[], Any]) -> Any:
    began = time.monotonic()
    result = step()
    print(f"{what}: {time.monotonic() - began:.1f} s")
    return result


def push(registry: RegistryServer, count: int) -> list[str]:
    """``count`` images in 10 repositories: one shared layer, a config and a manifest each."""
    created = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    repos = [f"bench/app{r}" for r in range(10)]
    data = layer()
    layers = {repo: Pusher(registry.url).blob(repo, data) for repo in repos}
    local = threading.local()

    def one(i: int) -> str:
        pusher = getattr(local, "pusher", None) or Pusher(registry.url)
        local.pusher = pusher
        repo = repos[i % len(repos)]
        labels = {**LABELS, "org.opencontainers.image.revision": str(i)}
        cfg = pusher.blob(repo, image_config(user="65532", labels=labels, created=created), "application/vnd.oci.image.config.v1+json")  # fmt: skip
        lay = layers[repo]
        body = canonical({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": cfg.media_type, "digest": cfg.digest, "size": cfg.size},
            "layers": [{"mediaType": lay.media_type, "digest": lay.digest, "size": lay.size}],
        })  # fmt: skip
        pushed = pusher.manifest(repo, f"v{i}", body, OCI_MANIFEST)
        return f"{registry.host}/{repo}@{pushed.digest}"

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, range(count)))


def populate(cluster: Cluster, api: KubeApi, images: list[str], pods: int) -> dict[str, int]:
    """Deployments (5 Pods each), one DaemonSet (a tenth of the Pods), bare Pods over the
    remaining images: ``pods`` Pods over ``len(images)`` images in all."""
    namespaces = [cluster.create_namespace("bench") for _ in range(10)]
    daemon = pods // 10
    deployments = min(len(images) * 3 // 4, (pods - daemon) * 3 // 4 // REPLICAS)
    bare = pods - daemon - REPLICAS * deployments
    extra = images[deployments + 1 :][:bare]
    assert extra, "more pods needed for that many images"
    jobs: list[Callable[[], None]] = []
    for d in range(deployments):
        jobs.append(lambda d=d: deployment(api, namespaces[d % 10], f"d{d}", images[d]))
    jobs.append(lambda: daemonset(api, namespaces[0], "agent", images[deployments], daemon))
    for p in range(bare):
        image = extra[p % len(extra)]
        jobs.append(lambda p=p, image=image: bare_pod(api, namespaces[p % 10], f"p{p}", image))
    run_all(jobs)
    return {"deployments": deployments, "daemonset pods": daemon, "bare pods": bare,
            "pods": REPLICAS * deployments + daemon + bare, "images": deployments + 1 + len(extra)}  # fmt: skip


def run_all(jobs: Iterable[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def spec(image: str) -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
        "containers": [{"name": "app", "image": image}],
    }


def running_pod(api: KubeApi, ns: str, name: str, image: str, owner: dict[str, Any] | None) -> None:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [owner]
    api.request(
        "POST", f"/api/v1/namespaces/{ns}/pods", body={"metadata": meta, "spec": spec(image)}
    )
    status = {"phase": "Running", "containerStatuses": [{"name": "app", "image": image, "imageID": image, "ready": True, "restartCount": 0, "state": {"running": {}}}]}  # fmt: skip
    api.request("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status", body={"status": status}, content_type="application/merge-patch+json")  # fmt: skip


def owner_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"], "controller": True}  # fmt: skip


def deployment(api: KubeApi, ns: str, name: str, image: str) -> None:
    labels = {"app": name}
    body = {"replicas": REPLICAS, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec(image)}}  # fmt: skip
    made = api.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body={"metadata": {"name": name}, "spec": body})  # fmt: skip
    rs = api.request("POST", f"/apis/apps/v1/namespaces/{ns}/replicasets", body={"metadata": {"name": f"{name}-1", "ownerReferences": [owner_of(made)]}, "spec": body})  # fmt: skip
    for i in range(REPLICAS):
        running_pod(api, ns, f"{name}-1-{i}", image, owner_of(rs))


def daemonset(api: KubeApi, ns: str, name: str, image: str, count: int) -> None:
    labels = {"app": name}
    body = {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec(image)}}  # fmt: skip
    made = api.request("POST", f"/apis/apps/v1/namespaces/{ns}/daemonsets", body={"metadata": {"name": name}, "spec": body})  # fmt: skip
    run_all([lambda i=i: running_pod(api, ns, f"{name}-{i}", image, owner_of(made)) for i in range(count)])  # fmt: skip


def bare_pod(api: KubeApi, ns: str, name: str, image: str) -> None:
    running_pod(api, ns, name, image, None)


def audit_settings(folder: Path, cluster: Cluster, registry: RegistryServer, address: str, concurrency: int) -> Settings:  # fmt: skip
    data = folder / "data.json"
    data.write_text(json.dumps({"gate": {"params": {"registries": {"approved": [f"{registry.host}/**"]}}}}))  # fmt: skip
    return Settings.from_env({
        "GATE_KUBECONFIG": str(cluster.kubeconfig), "GATE_DATA": str(data),
        "GATE_INSECURE_REGISTRIES": registry.host, "GATE_ARTIFACT_ANALYSIS_ENDPOINT": address,
        "GATE_ARTIFACT_ANALYSIS_PROJECT": PROJECT, "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true", "GATE_AUDIT_CONCURRENCY": str(concurrency),
    })  # fmt: skip


def connect(cluster: Cluster) -> KubeApi:
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
    client.configuration.connection_pool_maxsize = 16
    return KubernetesApi(client, 60)


def measure(auditor: Auditor, registry: RegistryServer, scans: Connection) -> dict[str, Any]:
    registry.settle()
    before = len(registry.requests())
    scans.send("reset")
    scans.recv()
    run: AuditRun = auditor.run()
    registry.settle()
    scans.send("stats")
    calls, peak = scans.recv()
    summary = run.summary()
    assert not run.errors, [e.to_dict() for e in run.errors]
    failed = [e for v in run.verdicts for e in v.errors]
    assert not failed, f"{len(failed)} images not judged, the first: {failed[0]}"
    return {
        "seconds": run.seconds, "phases": run.phases, "summary": summary,
        "registry": len(registry.requests()) - before, "scan calls": calls, "scan peak": peak,
    }  # fmt: skip


def print_rows(rows: list[tuple[str, dict[str, Any]]], concurrency: int) -> None:
    first = rows[0][1]["summary"]
    print(
        f"\n{first['workloads']} workloads, {first['pods']} pods, {first['images']} images "
        f"({first['violating']} violating); concurrency {concurrency} unless said\n"
    )
    header = ("run", "list s", "judge s", "reports s", "events s", "total s", "registry req",
              "scan RPCs", "scan peak", "reports c/r/u", "events")  # fmt: skip
    print(" | ".join(header))
    for name, row in rows:
        p, r = row["phases"], row["summary"]["reports"] or {}
        print(" | ".join([
            name, *(f"{p.get(k, 0):.1f}" for k in ("list", "judge", "reports", "events")),
            f"{row['seconds']:.1f}", str(row["registry"]), str(row["scan calls"]),
            str(row["scan peak"]), f"{r.get('created')}/{r.get('replaced')}/{r.get('unchanged')}",
            str(row["summary"]["events"]),
        ]))  # fmt: skip


def serve_scans(conn: Connection, latency: float) -> None:
    """Artifact Analysis for the pushed digests, in this process; answers stats requests."""
    from grafeas.grafeas_v1 import DiscoveryOccurrence, Severity

    from tests.integration.grafeas_server import (
        GoogleApiServer,
        discovery_occurrence,
        vulnerability_occurrence,
    )

    digests, vulnerable = conn.recv()
    grafeas = _indexed()(latency)
    for image in digests:
        resource = f"https://{image}"
        done = DiscoveryOccurrence.AnalysisStatus.FINISHED_SUCCESS
        grafeas.put(PROJECT, discovery_occurrence(resource, done))
        if image in vulnerable:
            grafeas.put(PROJECT, vulnerability_occurrence(resource, "CVE-2026-0001", Severity.CRITICAL))  # fmt: skip
    with GoogleApiServer() as server:
        server.add(grafeas)
        conn.send(server.start().address)
        while (message := conn.recv()) is not None:
            if message == "reset":
                grafeas.lists = grafeas.peak = 0
                conn.send(True)
            elif message == "stats":
                conn.send((grafeas.lists, grafeas.peak))


def _indexed() -> type:
    from grafeas.grafeas_v1 import ListOccurrencesRequest, ListOccurrencesResponse

    from tests.integration.grafeas_server import FILTER_FIELDS, GrafeasServicer, parse_filter

    class Indexed(GrafeasServicer):  # type: ignore[misc]
        """Occurrences indexed by resource; counts ListOccurrences calls and the peak in flight."""

        def __init__(self, latency: float) -> None:
            super().__init__()
            self.latency = latency
            self.by_resource: dict[str, list[Any]] = defaultdict(list)
            self.lists = self.peak = self.in_flight = 0

        def put(self, project: str, occurrence: Any) -> Any:
            stored = super().put(project, occurrence)
            self.by_resource[stored.resource_uri].append(stored)
            return stored

        def ListOccurrences(self, request: ListOccurrencesRequest) -> ListOccurrencesResponse:
            with self.lock:
                self.lists += 1
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                clauses = parse_filter(request.filter)
                resource = dict(clauses).get("resourceUrl", "")
                found = [o for o in self.by_resource.get(resource, []) if all(FILTER_FIELDS[k](o) == v for k, v in clauses)]  # fmt: skip
                time.sleep(self.latency)
                return ListOccurrencesResponse(occurrences=found)
            finally:
                with self.lock:
                    self.in_flight -= 1

    return Indexed


if __name__ == "__main__":
    sys.exit(main())
