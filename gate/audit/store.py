"""Write the audit's reports through the Kubernetes API: only what changed, and no leftovers.

:meth:`ReportStore.existing` lists gate's reports (by label, every namespace): their
annotations carry each workload's last status, which :mod:`gate.audit.events` compares
with the new one. :meth:`ReportStore.write` creates the missing reports, replaces those
whose fingerprint changed (optimistic concurrency: a conflict reads the report again and
retries once), leaves the others alone and deletes those no workload needs any more. Up
to ``concurrency`` writes are in flight. A write that fails is returned as an error; the
others go on.

    >>> Previous.of({"annotations": {"gate.dev/status": "violating",
    ...     "gate.dev/policies": "GATE-IMG-002"}, "labels": {"gate.dev/workload-uid": "u1"}})
    ('u1', Previous(status='violating', policies=('GATE-IMG-002',)))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gate.audit.kube import KubeApi, KubeError, Resource, list_all
from gate.audit.reports import (
    FINGERPRINT,
    MANAGED_BY,
    POLICIES,
    STATUS,
    UID_LABEL,
    ReportKind,
)

CRD_HINT = {
    "wgpolicyk8s.io": "install the PolicyReport CRDs: kubectl apply -k deploy/crds/policyreport "
    "(Kyverno and Policy Reporter install them too), or set GATE_AUDIT_REPORTS=none",
    "openreports.io": "install the OpenReports CRDs: kubectl apply -k deploy/crds/openreports "
    "(Kyverno 1.15+ installs them too), or set GATE_AUDIT_REPORTS=none",
}
Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Previous:
    status: str
    policies: tuple[str, ...]

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> tuple[str, Previous]:
        """(workload uid, its last status) from a report's metadata."""
        annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        policies = tuple(p for p in str(annotations.get(POLICIES) or "").split(",") if p)
        return str(labels.get(UID_LABEL) or ""), cls(str(annotations.get(STATUS) or ""), policies)


@dataclass
class Written:
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    errors: list[KubeError] = field(default_factory=list)


class ReportStore:
    def __init__(self, api: KubeApi, kind: ReportKind, *, page_size: int, concurrency: int):
        self.api, self.kind = api, kind
        self.page_size, self.concurrency = page_size, concurrency

    def existing(self) -> dict[Key, dict[str, Any]]:
        """gate's workload reports by (namespace, name): their metadata."""
        try:
            found = list_all(
                self.api,
                self.kind.namespaced,
                _metadata,
                page_size=self.page_size,
                label_selector="=".join(MANAGED_BY),
            )
        except KubeError as exc:
            raise _explained(exc, self.kind.namespaced) from exc
        return {(str(m.get("namespace")), str(m.get("name"))): m for m in found}

    def write(
        self,
        reports: Sequence[dict[str, Any]],
        cluster: dict[str, Any] | None,
        existing: Mapping[Key, Mapping[str, Any]],
    ) -> Written:
        """Bring the cluster's reports in line with ``reports`` (and ``cluster``)."""
        written = Written()
        wanted = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in reports}
        jobs: list[Callable[[], str]] = []
        for key, report in wanted.items():
            old = existing.get(key)
            if old is None:
                jobs.append(partial(self._create, self.kind.namespaced, report))
            elif _fingerprint(old) == _fingerprint(report["metadata"]):
                written.unchanged += 1
            else:
                jobs.append(partial(self._replace, self.kind.namespaced, report, old))
        for key in existing.keys() - wanted.keys():
            jobs.append(partial(self._delete, self.kind.namespaced, *key))
        if cluster is not None:
            jobs.append(partial(self._put_cluster, cluster))
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="gate-report") as pool:
            for outcome in pool.map(_attempt, jobs):
                if isinstance(outcome, KubeError):
                    written.errors.append(outcome)
                elif outcome in ("created", "replaced", "deleted"):
                    setattr(written, outcome, getattr(written, outcome) + 1)
        return written

    def _create(self, resource: Resource, report: dict[str, Any]) -> str:
        namespace = report["metadata"].get("namespace", "")
        try:
            self.api.request("POST", resource.path(namespace), body=report)
            return "created"
        except KubeError as exc:
            if exc.status != 409:  # created meanwhile (another run): replace it
                raise _explained(exc, resource) from exc
        current = self.api.request("GET", resource.path(namespace, report["metadata"]["name"]))
        return self._replace(resource, report, current.get("metadata") or {})

    def _replace(self, resource: Resource, report: dict[str, Any], old: Mapping[str, Any]) -> str:
        meta = report["metadata"]
        path = resource.path(meta.get("namespace", ""), meta["name"])
        for attempt in range(2):
            body = {**report, "metadata": {**meta, "resourceVersion": old.get("resourceVersion")}}
            try:
                self.api.request("PUT", path, body=body)
                return "replaced"
            except KubeError as exc:
                if exc.status == 404:
                    return self._create(resource, report)
                if exc.status != 409 or attempt:
                    raise _explained(exc, resource) from exc
                old = self.api.request("GET", path).get("metadata") or {}
        raise AssertionError("unreachable")

    def _delete(self, resource: Resource, namespace: str, name: str) -> str:
        try:
            self.api.request("DELETE", resource.path(namespace, name))
        except KubeError as exc:
            if exc.status != 404:
                raise
        return "deleted"

    def _put_cluster(self, report: dict[str, Any]) -> str:
        resource = self.kind.cluster
        try:
            current = self.api.request("GET", resource.path("", report["metadata"]["name"]))
        except KubeError as exc:
            if exc.status != 404:
                raise _explained(exc, resource) from exc
            return self._create(resource, report)
        if _fingerprint(current.get("metadata") or {}) == _fingerprint(report["metadata"]):
            return "unchanged"
        return self._replace(resource, report, current.get("metadata") or {})


def _attempt(job: Callable[[], str]) -> str | KubeError:
    try:
        return job()
    except KubeError as exc:
        return exc


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _fingerprint(meta: Mapping[str, Any]) -> str:
    return str((meta.get("annotations") or {}).get(FINGERPRINT) or "")


def _explained(exc: KubeError, resource: Resource) -> KubeError:
    """A 404 on a report kind means its CRD is missing: say how to install it."""
    unserved = ("could not find the requested resource", "page not found")
    if exc.status == 404 and any(text in exc.message for text in unserved):
        return KubeError(
            f"the API server has no {resource.kind} ({resource.api_version}): {exc.message}",
            hint=CRD_HINT.get(resource.group, ""),
            status=404,
        )
    return exc
