"""The report resources gate writes fit the CRDs shipped in deploy/crds: every field is in
the schema (the API server would silently prune one that is not) and every value valid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gate.audit.reports import (
    MAX_RESULTS,
    REPORT_KINDS,
    cluster_report,
    fingerprint,
    workload_report,
)
from gate.config import Settings
from gate.policy.engines import policy_source
from tests.audit.conftest import BAD, BAD_ID, COMPLIANT, bare_pod
from tests.conftest import REPO_ROOT

CRDS = REPO_ROOT / "deploy" / "crds"
WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BREAK_GLASS = {"alpha.image-policy.k8s.io/break-glass": "true"}


def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the CRD's openAPIV3Schema, from every file in deploy/crds."""
    found = {}
    for path in sorted(CRDS.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            assert doc["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
            for version in spec["versions"]:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                found[key] = version["schema"]["openAPIV3Schema"]
    return found


def unknown_fields(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Paths in ``value`` the schema does not declare (a structural schema prunes them)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        if "properties" not in schema:
            return []  # metadata, or additionalProperties maps
        missing = [f"{where}.{k}" for k in value if k not in schema["properties"]]
        return missing + [
            m
            for k, v in value.items()
            if k in schema["properties"]
            for m in unknown_fields(v, schema["properties"][k], f"{where}.{k}")
        ]
    if isinstance(value, list) and "items" in schema:
        return [
            m
            for i, v in enumerate(value)
            for m in unknown_fields(v, schema["items"], f"{where}[{i}]")
        ]
    return []


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return {i.id: i for i in policy_source(Settings()).current().catalog.values()}


def test_the_shipped_crds_are_the_kinds_gate_writes() -> None:
    kinds = set(crds())
    for kind in REPORT_KINDS.values():
        for resource in (kind.namespaced, kind.cluster):
            assert (resource.api_version, resource.kind) in kinds


@pytest.mark.parametrize("name", sorted(REPORT_KINDS))
def test_every_report_validates_against_its_crd(
    name: str, judge_all: Any, catalog: dict[str, Any]
) -> None:
    kind, schemas = REPORT_KINDS[name], crds()
    verdicts = judge_all(
        [
            bare_pod("good", COMPLIANT, ids=[COMPLIANT]),
            bare_pod("bad", BAD, ids=[BAD_ID]),
            bare_pod("urgent", BAD, annotations=BREAK_GLASS),
            bare_pod("other", "us-docker.pkg.dev/p/r/x@sha256:" + "e" * 64),
        ]
    )
    documents = [workload_report(kind, v, catalog, WHEN) for v in verdicts]
    documents.append(cluster_report(kind, verdicts, catalog, WHEN))
    for document in documents:
        schema = schemas[(document["apiVersion"], document["kind"])]
        jsonschema.validate(document, schema)
        assert unknown_fields(document, schema) == [], document["metadata"]["name"]
    good, bad, urgent, other = documents[:4]
    assert good["summary"]["fail"] == 0 and good["summary"]["pass"] >= 5
    assert bad["summary"]["fail"] >= 2
    assert {r["result"] for r in bad["results"] if r["category"] == "image"} == {"skip"}
    assert {r["properties"]["mode"] for r in urgent["results"] if r["result"] == "fail"} == {
        "audit"
    }
    assert other["summary"]["error"] >= 1


def test_a_report_names_its_workload_and_is_owned_by_it(judge_all: Any, catalog: Any) -> None:
    (verdict,) = judge_all([bare_pod("bad", BAD, ids=[BAD_ID])])
    report = workload_report(REPORT_KINDS["policyreport"], verdict, catalog, WHEN)
    meta = report["metadata"]
    assert meta["name"] == "gate-uid-bad" and meta["namespace"] == "shop"
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "gate",
        "gate.dev/workload-uid": "uid-bad",
    }
    assert meta["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "bad", "uid": "uid-bad"}
    ]
    assert (
        report["scope"]["kind"] == "Pod" and meta["annotations"]["gate.dev/status"] == "violating"
    )
    fail = next(r for r in report["results"] if r["policy"] == "GATE-REF-001")
    assert fail["properties"]["image"].startswith(BAD + "@") and fail["source"] == "gate"
    assert fail["timestamp"] == {"seconds": int(WHEN.timestamp()), "nanos": 0}


def test_the_fingerprint_ignores_the_time_so_an_unchanged_report_is_not_written(
    judge_all: Any, catalog: Any
) -> None:
    (verdict,) = judge_all([bare_pod("bad", BAD)])
    kind = REPORT_KINDS["policyreport"]
    first = workload_report(kind, verdict, catalog, WHEN)
    later = workload_report(kind, verdict, catalog, datetime(2027, 1, 1, tzinfo=UTC))
    assert fingerprint(first) == fingerprint(later)
    assert first["metadata"]["annotations"]["gate.dev/fingerprint"] == fingerprint(first)


def test_a_workload_with_many_containers_keeps_its_report_bounded(
    judge_all: Any, catalog: Any
) -> None:
    (verdict,) = judge_all([bare_pod("wide", *[f"nginx:{i}" for i in range(80)])])
    report = workload_report(REPORT_KINDS["policyreport"], verdict, catalog, WHEN)
    assert len(report["results"]) == MAX_RESULTS
    assert report["results"][-1]["message"].endswith("more results left out")
    assert all(len(r.get("message", "")) <= 1100 for r in report["results"])
