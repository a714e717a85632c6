"""``evaluate_image`` returns what it judged: the reference (digest resolved by the fact
source), the facts and the decision, so no caller wraps the fact source to learn them."""

from __future__ import annotations

import time

import pytest

from gate.config import Settings
from gate.errors import GateError
from gate.evaluate import evaluate_image
from gate.facts.interface import FactSource, ImageFacts
from gate.facts.local import LocalFacts
from gate.facts.scans.interface import ScanResult
from gate.policy.engines import create_engine
from gate.policy.interface import Engine
from gate.reference import ImageRef, parse_reference
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.facts import TrialFacts
from gate.webhook.workloads import Container

DIGEST = "sha256:" + "d" * 64
IMAGE = "us-docker.pkg.dev/p/r/app"


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
