#!/usr/bin/env python3
"""What the supply-chain policies cost the embedded engine, side by side with a peer set.

Times ``EmbeddedEngine.evaluate`` on one image without provenance (the compliant sample:
no findings, no evidence) for this checkout's policies and for a peer policy folder
(``--peer``, e.g. a checkout of main without the provenance policies), alternating
between them in one run so machine noise hits both alike; then this checkout's policies
with all four supply-chain policies switched on, on the same image and on one carrying
verified provenance and a signature. Prints the median and p90 per evaluation.

    python bench/provenance.py --peer ../main/policies
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from gate.facts.metadata import load_metadata  # noqa: E402
from gate.policy.document import build_document  # noqa: E402
from gate.policy.embedded import EmbeddedEngine  # noqa: E402
from gate.policy.interface import Scope  # noqa: E402
from gate.policy.source import PolicySource  # noqa: E402
from gate.reference import parse_reference  # noqa: E402

NOW = datetime(2026, 11, 29, tzinfo=UTC)
KEY = "ni:///sha-256;bench"
ON = {
    "provenance": {"enabled": True, "trusted_builders": [{"id": "https://builder.example", "keys": [KEY]}]},
    "provenance_source": {"enabled": True, "repositories": ["github.com/acme/**"]},
    "provenance_subject": {"enabled": True},
    "signatures": {"enabled": True, "keys": [KEY]},
}  # fmt: skip


def document(evidence: bool) -> dict[str, Any]:
    metadata = load_metadata(REPO_ROOT / "samples" / "compliant-metadata.json")
    digest = metadata.platforms[0].manifest_digest
    ref = parse_reference(f"us-docker.pkg.dev/gate-samples/apps/hello@{digest}").to_input()
    doc = build_document(ref, entry_point="attest", facts=metadata, now=NOW)
    if evidence:
        by = {"key": KEY, "identity": None}
        doc["image"]["provenance"] = [{
            "predicate_type": "https://slsa.dev/provenance/v1", "builder_id": "https://builder.example",
            "build_type": "t", "source": {"repository": "github.com/acme/app", "revision": "abc", "ref": ""},
            "subjects": [{"name": "x", "digest": digest}], "origin": "registry", "verified_by": by,
        }]  # fmt: skip
        doc["image"]["signatures"] = [
            {"kind": "cosign", "digest": digest, "origin": "registry", "verified_by": by}
        ]
    return doc


def engine(policies: Path, params: dict[str, Any] | None, folder: Path) -> EmbeddedEngine:
    overrides: tuple[Path, ...] = ()
    if params:
        path = folder / f"data-{len(list(folder.iterdir()))}.json"
        path.write_text(json.dumps({"gate": {"params": params}}))
        overrides = (path,)
    return EmbeddedEngine(PolicySource(policies, overrides, interval=1e9))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, required=True, help="the peer policy folder")
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {
            "peer policies, no evidence": (engine(args.peer, None, folder), document(False)),
            "these policies (all off), no evidence": (engine(REPO_ROOT / "policies", None, folder), document(False)),
            "these policies (all on), no evidence": (engine(REPO_ROOT / "policies", ON, folder), document(False)),
            "these policies (all on), with evidence": (engine(REPO_ROOT / "policies", ON, folder), document(True)),
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in cases}
        for eng, doc in cases.values():
            eng.evaluate(doc, Scope.FULL)  # warm: compile once
        for _ in range(args.rounds):
            for name, (eng, doc) in cases.items():
                start = time.perf_counter()
                eng.evaluate(doc, Scope.FULL)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["peer policies, no evidence"])
    print(f"{'case':<42} {'median':>9} {'p90':>9} {'vs peer':>8}")
    for name, samples in times.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<42} {median * 1e3:8.3f}ms {p90 * 1e3:8.3f}ms {median / base:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
