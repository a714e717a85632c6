"""The facts cache's weights against what parsed facts really hold (tracemalloc), and a
worker's facts cache bounded in bytes under a stream of distinct, heavily scanned images."""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from gate.config import Settings
from gate.facts.interface import FactSource, ImageFacts, Platform
from gate.facts.metadata import config_facts
from gate.facts.scans.gcloud import parse_gcloud
from gate.reference import ImageRef, parse_reference
from gate.webhook.app import create_app
from gate.webhook.facts import TrialFacts
from gate.webhook.weights import facts_weight
from tests.webhook.reviews import COMPLIANT, review, workload

REF = parse_reference(COMPLIANT)


def scanned_report(fixtures_dir: Path, findings: int) -> str:
    """gcloud's describe JSON of a real Artifact Analysis scan, its occurrences repeated
    under other CVE ids and package versions until it lists ``findings`` of them."""
    doc = json.loads(
        (fixtures_dir / "grafeas" / "gcloud-artifacts-describe-go-stdlib-critical.json").read_text()
    )
    groups = doc["package_vulnerability_summary"]["vulnerabilities"]
    real = [o for group in groups.values() for o in group]
    many = []
    for i in range(findings):
        occurrence = copy.deepcopy(real[i % len(real)])
        occurrence["noteName"] = f"projects/goog-vulnz/notes/CVE-2024-{10000 + i}"
        for issue in occurrence["vulnerability"]["packageIssue"]:
            issue["affectedVersion"]["fullName"] = f"1.{i}.{i % 7}-1+deb12u{i % 5}"
        many.append(occurrence)
    groups.clear()
    groups["CRITICAL"] = many
    return json.dumps(doc)


def parsed_facts(report: str, config: str) -> ImageFacts:
    raw = json.loads(config)
    platform = Platform("linux", "amd64", "", None, None, config_facts(raw))
    return ImageFacts(platforms=(platform,), vulnerabilities=parse_gcloud(json.loads(report)))


def held_bytes(report: str, config: str) -> tuple[ImageFacts, int]:
    """Facts parsed from the texts, and the bytes they hold once the texts' objects are gone."""
    parsed_facts(report, config)  # the first parse fills caches of its own (imports, patterns)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        facts = parsed_facts(report, config)
        gc.collect()
        return facts, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_weight_covers_what_parsed_facts_hold(fixtures_dir: Path) -> None:
    config = (fixtures_dir / "oci" / "image-config-user-nova-redhat-labels.json").read_text()
    hostile = json.loads(config)
    hostile["config"]["Labels"] = {f"label-{i}": "x" * 10_000 for i in range(100)}  # 1 MB
    for findings, image_config in ((0, config), (1_000, config), (100, json.dumps(hostile))):
        facts, held = held_bytes(scanned_report(fixtures_dir, findings), image_config)
        assert facts.vulnerabilities is not None
        assert len(facts.vulnerabilities.findings) == findings
        weight = facts_weight((REF, facts))  # counts the engine's converted copy too
        assert 2 * held <= weight <= 4 * held + 8192, (findings, held, weight)


class DistinctScans(FactSource):
    """Every image its own facts: the compliant ones and a parsed report's findings as LOW
    ones (under every default threshold) with versions of their own, about the image's
    digest; counts the gathers."""

    def __init__(self, base: ImageFacts, report: str) -> None:
        self.base, self.scan, self.gathers = base, parse_gcloud(json.loads(report)), 0

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.gathers += 1
        findings = tuple(
            replace(f, severity="LOW", effective_severity="LOW", installed_version=f"{i}-{ref}")
            for i, f in enumerate(self.scan.findings)
        )
        scan = replace(self.scan, findings=findings, digests=(str(ref.digest),))
        return ref, replace(self.base, vulnerabilities=scan)


def image(n: int) -> str:
    return f"{COMPLIANT.split('@')[0]}@sha256:{hashlib.sha256(str(n).encode()).hexdigest()}"


def test_a_worker_keeps_a_bounded_weight_of_facts(
    fixtures_dir: Path, compliant_facts: TrialFacts
) -> None:
    base = compliant_facts.gather(REF, time.monotonic() + 5)[1]
    source = DistinctScans(base, scanned_report(fixtures_dir, 300))
    env = {"GATE_FACTS_CACHE_BYTES": str(4 * 1024 * 1024), "GATE_DECISION_CACHE_TTL": "0"}
    app = create_app(Settings.from_env(env), facts=source)
    client, cache = app.test_client(), app.extensions["gate"].evaluator.facts.cache
    for first in range(0, 200, 20):
        body: dict[str, Any] = review(
            workload("Pod", *[image(n) for n in range(first, first + 20)])
        )
        reply = client.post("/validate", json=body).json
        assert reply["response"]["allowed"], reply
        assert cache.weight <= 4 * 1024 * 1024
    assert source.gathers == 200
    assert 5 < len(cache) < 30  # about 450 KB an image: the most recent ones are kept
    client.post("/validate", json=review(workload("Pod", image(199))))
    client.post("/validate", json=review(workload("Pod", image(0))))
    assert source.gathers == 201  # the last image was at hand, the first had to be fetched again
