"""``evaluate_image`` returns what it judged: the reference (digest resolved by the fact
source), the facts and the decision, so no caller wraps the fact source to learn them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gate.config import Settings
from gate.errors import GateError
from gate.evaluate import evaluate_image
from gate.facts.interface import FactSource, ImageFacts
from gate.facts.local import LocalFacts
from gate.facts.metadata import load_metadata
from gate.facts.scans.interface import ScanResult
from gate.policy.embedded import EmbeddedEngine
from gate.policy.engines import create_engine
from gate.policy.interface import Engine, Scope
from gate.policy.loader import default_policy_dir
from gate.policy.source import PolicySource
from gate.reference import ImageRef, parse_reference
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.facts import TrialFacts
from gate.webhook.workloads import Container
from tests.conftest import REPO_ROOT

DIGEST = "sha256:" + "d" * 64
IMAGE = "us-docker.pkg.dev/p/r/app"
NOW = datetime.now(UTC)


class Resolving(FactSource):
    """Resolves every tag to ``DIGEST`` and serves empty facts, like the registry does.

    ``local``: the reference policies need not run first (as for files on disk), so a
    tag-only reference reaches the source.
    """

    def __init__(self, *, local: bool) -> None:
        self.local = local
        self.gathered: list[str] = []

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.gathered.append(ref.normalized)
        return ref.with_digest(DIGEST), ImageFacts()


class Failing(FactSource):
    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        raise GateError("registry down", hint="try later")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return create_engine(Settings())


def test_trial_facts_are_local_facts_judged_reference_first() -> None:
    """The webhook's trial facts are the local ones, every fact kept (provenance too)."""
    metadata = ImageFacts(provenance=({"builder_id": "https://builder.example"},))
    scan = ScanResult(source="trivy", findings=(), digests=(DIGEST,))
    ref = parse_reference(f"{IMAGE}@{DIGEST}")
    trial, local = TrialFacts(metadata, scan), LocalFacts(metadata, scan)
    assert isinstance(trial, LocalFacts) and local.local and not trial.local
    assert trial.gather(ref, time.monotonic() + 5) == local.gather(ref, time.monotonic() + 5)
    assert trial.gather(ref, time.monotonic() + 5)[1].provenance == metadata.provenance


def test_local_facts_are_judged_as_given(engine: Engine) -> None:
    facts = ImageFacts()
    evaluation = evaluate_image(engine, f"{IMAGE}@{DIGEST}", LocalFacts(facts))
    assert evaluation.reference is not None and evaluation.reference.digest == DIGEST
    assert evaluation.facts == facts
    assert evaluation.resolved == evaluation.reference and evaluation.digest == DIGEST


def test_the_digest_the_source_resolved_is_the_one_returned(engine: Engine) -> None:
    evaluation = evaluate_image(engine, f"{IMAGE}:1.0", Resolving(local=True))
    assert evaluation.digest == DIGEST
    assert evaluation.resolved is not None and evaluation.resolved.tag == "1.0"
    assert evaluation.facts == ImageFacts()


def test_a_reference_denial_gathers_nothing(engine: Engine) -> None:
    source = Resolving(local=False)
    evaluation = evaluate_image(engine, "evil.example/app:latest", source)
    assert not evaluation.decision.allowed and not evaluation.decision.errors
    assert source.gathered == []
    assert evaluation.reference is not None and evaluation.reference.registry == "evil.example"
    assert evaluation.facts is None and evaluation.resolved is None and evaluation.digest == ""


def test_facts_that_cannot_be_had_leave_the_reference_unresolved(engine: Engine) -> None:
    evaluation = evaluate_image(engine, f"{IMAGE}@{DIGEST}", Failing())
    assert evaluation.decision.errors[0].message == "registry down"
    assert evaluation.reference is not None and evaluation.resolved is None
    unparsable = evaluate_image(engine, "Not A Reference", Failing())
    assert unparsable.reference is None and unparsable.decision.errors


def test_the_webhook_reports_the_resolved_digest(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        images = ImageEvaluator(engine, Resolving(local=True), pool, budget=10.0)
        [result] = images.evaluate(
            [(Container("c", "regular", f"{IMAGE}:1.0"), {})], time.monotonic() + 10
        )
    assert result.digest == DIGEST


class Kept(FactSource):
    """A source that keeps what it gathered (as the webhook's cache does): facts for the
    written reference are at hand from the second evaluation on."""

    def __init__(self, facts: ImageFacts, resolve: str | None = None) -> None:
        self.facts, self.resolve = facts, resolve
        self.kept: dict[str, tuple[ImageRef, ImageFacts]] = {}
        self.gathered: list[str] = []

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.gathered.append(ref.normalized)
        found = (ref.with_digest(self.resolve) if self.resolve else ref, self.facts)
        self.kept[ref.normalized] = found
        return found

    def at_hand(self, ref: ImageRef) -> tuple[ImageRef, ImageFacts] | None:
        return self.kept.get(ref.normalized)


class Scopes(EmbeddedEngine):
    """The embedded engine, noting the scope of every decision it makes."""

    def __init__(self) -> None:
        super().__init__(PolicySource(default_policy_dir()))
        self.scopes: list[Scope] = []

    def query(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Any:
        self.scopes.append(scope)
        return super().query(document, scope, deadline=deadline)


@pytest.fixture(scope="module")
def compliant(tmp_path_factory: pytest.TempPathFactory) -> ImageFacts:
    """The quick start's compliant sample, built yesterday, with a clean scan of DIGEST."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    metadata = json.loads((REPO_ROOT / "samples" / "compliant-metadata.json").read_text())
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path_factory.mktemp("facts") / "metadata.json"
    path.write_text(json.dumps(metadata))
    facts = load_metadata(path)
    clean = ScanResult(source="trivy", findings=(), digests=(DIGEST,))
    return replace(facts, vulnerabilities=clean)


def test_facts_at_hand_for_an_allowed_image_cost_one_decision(compliant: ImageFacts) -> None:
    # Issue 14: with the facts cached, the reference decision was a second evaluation of
    # the reference policies, which the full decision runs anyway.
    engine, source = Scopes(), Kept(compliant)
    cold = evaluate_image(engine, f"{IMAGE}@{DIGEST}", source, now=NOW)
    assert cold.decision.allowed and engine.scopes == [Scope.REFERENCE, Scope.FULL]
    engine.scopes.clear()
    warm = evaluate_image(engine, f"{IMAGE}@{DIGEST}", source, now=NOW)
    assert engine.scopes == [Scope.FULL] and source.gathered == [f"{IMAGE}@{DIGEST}"]
    assert warm == cold


def test_facts_at_hand_for_a_denied_image_give_the_cold_answer(compliant: ImageFacts) -> None:
    root = replace(
        compliant,
        platforms=tuple(
            replace(p, config={**p.config, "user": "root"}) for p in compliant.platforms
        ),
    )
    engine, source = Scopes(), Kept(root)
    cold = evaluate_image(engine, f"{IMAGE}@{DIGEST}", source, now=NOW)
    warm = evaluate_image(engine, f"{IMAGE}@{DIGEST}", source, now=NOW)
    assert not warm.decision.allowed and warm == cold and warm.facts == root
    assert {v.policy for v in warm.decision.violations} == {"non_root"}
    assert len(source.gathered) == 1


def test_facts_at_hand_never_pass_a_reference_the_reference_policies_deny(
    compliant: ImageFacts,
) -> None:
    # Facts kept under a reference the reference policies deny (a source may have them
    # from before a policy change): the answer is the reference decision's, no facts.
    engine, source = Scopes(), Kept(compliant)
    written = parse_reference(f"evil.example/app@{DIGEST}")
    source.kept[written.normalized] = (written, compliant)
    evaluation = evaluate_image(engine, f"evil.example/app@{DIGEST}", source, now=NOW)
    assert not evaluation.decision.allowed and evaluation.facts is None
    assert {v.policy for v in evaluation.decision.violations} == {"registries"}
    assert source.gathered == []


def test_a_tag_resolved_before_is_judged_as_written_first(compliant: ImageFacts) -> None:
    # The facts at hand are about the resolved digest, not the tag as written: the
    # reference policies judge the tag (and deny it) before anything else.
    engine, source = Scopes(), Kept(compliant, resolve=DIGEST)
    tagged = parse_reference(f"{IMAGE}:1.0")
    source.kept[tagged.normalized] = (tagged.with_digest(DIGEST), compliant)
    evaluation = evaluate_image(engine, f"{IMAGE}:1.0", source, now=NOW)
    assert engine.scopes == [Scope.REFERENCE]
    assert not evaluation.decision.allowed and evaluation.facts is None
    assert {v.policy for v in evaluation.decision.violations} == {"digest"}
