"""Shared pieces for the audit's tests: Pods as the API lists them, and a real judge
(the embedded engine, the repository's policies, the bundled sample's facts)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gate.audit.inventory import POD, Workload, slim, workload
from gate.audit.judge import Judge, Verdict
from gate.config import Settings
from gate.policy.engines import create_engine
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.facts import TrialFacts
from gate.webhook.modes import ModeTable
from tests.conftest import REPO_ROOT

COMPLIANT = (
    "us-docker.pkg.dev/gate-samples/apps/hello@"
    "sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542"
)
BAD = "nginx:1.27"
BAD_ID = "docker.io/library/nginx@sha256:" + "a" * 64


def listed_pod(
    name: str,
    images: Sequence[str],
    image_ids: Sequence[str] = (),
    *,
    namespace: str = "shop",
    annotations: Mapping[str, str] | None = None,
    owners: Sequence[Mapping[str, Any]] = (),
    uid: str = "",
) -> dict[str, Any]:
    """A Pod as a list response holds it (no kind), through the audit's slim()."""
    item = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{name}",
            "annotations": dict(annotations or {}),
            "ownerReferences": list(owners),
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
            "containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": f"c{i}", "imageID": image_id, "ready": True}
                for i, image_id in enumerate(image_ids)
            ],
        },
    }
    return slim(POD)(item)


def bare_pod(name: str, *images: str, ids: Sequence[str] = (), **kw: Any) -> Workload:
    listed = listed_pod(name, images, ids, **kw)
    return workload(POD, listed, [listed])


@pytest.fixture(scope="session")
def trial_metadata(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compliant sample, created yesterday (the freshness policy passes any day)."""
    metadata = json.loads((REPO_ROOT / "samples" / "compliant-metadata.json").read_text())
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday
    path = tmp_path_factory.mktemp("facts") / "metadata.json"
    path.write_text(json.dumps(metadata))
    return path


@pytest.fixture(scope="session")
def judge_all(trial_metadata: Path) -> Any:
    """``judge_all(workloads, settings=None) -> verdicts`` with the real engine."""
    pool = ThreadPoolExecutor(4)
    engine = create_engine(Settings())  # one engine: its per-thread copies live with the pool

    def judge_all(workloads: Sequence[Workload], settings: Settings | None = None) -> list[Verdict]:
        settings = settings or Settings()
        facts = TrialFacts.from_files(
            str(trial_metadata), str(REPO_ROOT / "samples" / "trivy-clean.json")
        )
        evaluator = ImageEvaluator(engine, facts, pool, budget=30.0)
        modes = ModeTable.from_settings(settings.webhook)
        judge = Judge(engine, evaluator, modes, honour_break_glass=settings.webhook.break_glass)
        return judge.judge(workloads, time.monotonic() + 30)

    yield judge_all
    pool.shutdown()
