"""Audit results as PolicyReports (wgpolicyk8s.io/v1alpha2) or OpenReports (openreports.io/v1alpha1).

One namespaced report per workload, as Kyverno writes them since 1.10: named ``gate-<uid>``,
``scope`` the workload, owned by it (the garbage collector removes it with the workload),
labelled ``app.kubernetes.io/managed-by: gate``; its results are
:mod:`gate.audit.results`'. One cluster report, ``gate-audit``, sums the run up per policy.

The CRDs come from the upstream projects (deploy/crds/README.md). Reports are written
only when their results changed (a fingerprint annotation), so a result keeps the time
it was first found, and reports of workloads that are gone (or now exempt) are deleted.

    >>> kind = REPORT_KINDS["policyreport"]
    >>> kind.namespaced.path("shop", "gate-1234"), kind.cluster.kind
    ('/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/gate-1234', 'ClusterPolicyReport')
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.audit.judge import Verdict
from gate.audit.kube import Resource
from gate.audit.results import MESSAGE_CHARS, severity, workload_results
from gate.policy.loader import PolicyInfo
from gate.webhook.logsize import clip

SOURCE = "gate"
MANAGED_BY = ("app.kubernetes.io/managed-by", "gate")
UID_LABEL = "gate.dev/workload-uid"
FINGERPRINT = "gate.dev/fingerprint"
STATUS = "gate.dev/status"
POLICIES = "gate.dev/policies"
CLUSTER_REPORT = "gate-audit"
MAX_RESULTS = 250  # per report: a report is one etcd object (1.5 MB at most)
RESULTS = ("pass", "fail", "warn", "error", "skip")


@dataclass(frozen=True)
class ReportKind:
    namespaced: Resource
    cluster: Resource


REPORT_KINDS = {
    "policyreport": ReportKind(
        Resource("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport"),
        Resource(
            "wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", "ClusterPolicyReport", False
        ),
    ),
    "openreports": ReportKind(
        Resource("openreports.io", "v1alpha1", "reports", "Report"),
        Resource("openreports.io", "v1alpha1", "clusterreports", "ClusterReport", False),
    ),
}


def report_name(uid: str) -> str:
    return f"gate-{uid}"


def workload_report(
    kind: ReportKind,
    verdict: Verdict,
    catalog: Mapping[str, PolicyInfo],
    when: datetime,
) -> dict[str, Any]:
    """The report of one workload (see the module docstring)."""
    ref = verdict.workload.ref
    results = workload_results(verdict, catalog)
    return _document(
        kind.namespaced,
        name=report_name(ref.uid),
        namespace=ref.namespace,
        labels={UID_LABEL: ref.uid},
        annotations={STATUS: verdict.status, POLICIES: ",".join(verdict.policies)},
        owner={"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "uid": ref.uid},
        scope=ref.to_object_reference(),
        results=results,
        when=when,
    )


def cluster_report(
    kind: ReportKind, verdicts: Sequence[Verdict], catalog: Mapping[str, PolicyInfo], when: datetime
) -> dict[str, Any]:
    """``gate-audit``: per policy, how many workloads violate it, and in which namespaces."""
    violating: dict[str, set[str]] = {}
    for verdict in verdicts:
        for policy in verdict.policies:
            violating.setdefault(policy, set()).add(str(verdict.workload.ref))
    results = []
    for policy_id in sorted(set(catalog) | set(violating)):
        info, where = catalog.get(policy_id), sorted(violating.get(policy_id, ()))
        result: dict[str, Any] = {
            "policy": policy_id,
            "rule": info.name if info else policy_id,
            "result": "fail" if where else "pass",
            "message": clip(
                f"{len(where)} workload(s) violate it: {', '.join(where)}"
                if where
                else "no workload violates it",
                MESSAGE_CHARS,
            ),
            "properties": {"workloads": str(len(where))},
        }
        if info is not None:
            result["severity"] = severity(info.severity)
        results.append(result)
    broken = [str(v.workload.ref) for v in verdicts if v.break_glass]
    if broken:
        results.append(
            {
                "policy": "break-glass",
                "result": "warn",
                "message": clip(
                    f"admitted without enforcement: {', '.join(broken)}", MESSAGE_CHARS
                ),
                "properties": {"workloads": str(len(broken))},
            }
        )
    return _document(kind.cluster, name=CLUSTER_REPORT, results=results, when=when)


def fingerprint(report: Mapping[str, Any]) -> str:
    """What a report says, without the times: equal fingerprints need no write."""
    results = [{k: v for k, v in r.items() if k != "timestamp"} for r in report["results"]]
    meta = report["metadata"]
    said = [results, meta.get("annotations", {}).get(STATUS), meta.get("ownerReferences")]
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


def _document(
    resource: Resource,
    *,
    name: str,
    results: list[dict[str, Any]],
    when: datetime,
    namespace: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    owner: Mapping[str, str] | None = None,
    scope: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    if len(results) > MAX_RESULTS:
        dropped = len(results) - MAX_RESULTS + 1
        more = {"policy": "gate", "result": "skip", "message": f"{dropped} more results left out"}
        results = [*results[: MAX_RESULTS - 1], more]
    stamp = {"seconds": int(when.timestamp()), "nanos": 0}
    for result in results:
        result.setdefault("source", SOURCE)
        result.setdefault("scored", True)
        result["timestamp"] = stamp
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {MANAGED_BY[0]: MANAGED_BY[1], **(labels or {})},
        "annotations": dict(annotations or {}),
    }
    if namespace:
        metadata["namespace"] = namespace
    if owner:
        metadata["ownerReferences"] = [dict(owner)]
    document: dict[str, Any] = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": metadata,
        "summary": {r: n for r, n in _counts(results).items()},
        "results": results,
    }
    if scope:
        document["scope"] = dict(scope)
    if resource.group == "openreports.io":
        document["source"] = SOURCE
    document["metadata"]["annotations"][FINGERPRINT] = fingerprint(document)
    return document


def _counts(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counted = Counter(str(r.get("result")) for r in results)
    return {r: counted.get(r, 0) for r in RESULTS}
