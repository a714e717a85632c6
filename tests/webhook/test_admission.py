"""POST /validate in-process (Flask's test client): kinds, operations, modes, exemptions,
break-glass, dryRun, fixtures, the time budget and fail-open."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gate.policy.embedded import EmbeddedEngine
from gate.policy.loader import default_policy_dir
from gate.policy.source import PolicySource
from gate.reference import parse_reference
from gate.webhook.facts import TrialFacts
from tests.webhook.conftest import (
    AppFactory,
    BrokenFacts,
    CountingFacts,
    HangingFacts,
    StallingFacts,
    answer,
)
from tests.webhook.reviews import (
    COMPLIANT,
    KINDS,
    TAG_ONLY,
    fixture_reviews,
    review,
    with_image,
    workload,
)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_denied_for_a_tag_only_image(client: FlaskClient, kind: str) -> None:
    body = review(workload(kind, TAG_ONLY))
    reply = answer(client, body)
    response = reply["response"]
    assert reply["apiVersion"] == "admission.k8s.io/v1" and reply["kind"] == "AdmissionReview"
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    message = response["status"]["message"]
    assert "GATE-REF-001" in message and "container app0" in message and TAG_ONLY in message
    assert response["auditAnnotations"]["decision"] == "deny"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_admitted_for_a_compliant_image(client: FlaskClient, kind: str) -> None:
    response = answer(client, review(workload(kind, COMPLIANT)))["response"]
    assert response["allowed"] is True, response
    assert "status" not in response and "warnings" not in response
    assert response["auditAnnotations"] == {"decision": "allow", "mode": "enforce"}


def test_init_and_ephemeral_containers_are_evaluated(client: FlaskClient) -> None:
    obj = workload("Pod", COMPLIANT, init=(TAG_ONLY,), ephemeral=("busybox:1.36",))
    message = answer(client, review(obj))["response"]["status"]["message"]
    assert f"init container init0, image {TAG_ONLY}" in message
    assert "ephemeral container debug0, image busybox:1.36" in message
    assert "app0" not in message


def test_pods_ephemeralcontainers_subresource_is_evaluated(client: FlaskClient) -> None:
    obj = workload("Pod", COMPLIANT, ephemeral=(TAG_ONLY,))
    body = review(obj, operation="UPDATE", subresource="ephemeralcontainers")
    assert answer(client, body)["response"]["allowed"] is False


def test_v1beta1_is_answered_in_v1beta1(client: FlaskClient) -> None:
    body = review(workload("Pod", TAG_ONLY), version="admission.k8s.io/v1beta1")
    reply = answer(client, body)
    assert reply["apiVersion"] == "admission.k8s.io/v1beta1"
    assert reply["response"]["uid"] == body["request"]["uid"]
    assert reply["response"]["allowed"] is False


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_are_allowed_at_once(make_app: AppFactory, operation: str) -> None:
    facts = HangingFacts()
    client = make_app(facts=facts).test_client()
    started = time.monotonic()
    response = answer(client, review(workload("Pod", TAG_ONLY), operation=operation))["response"]
    assert response["allowed"] is True and time.monotonic() - started < 0.5
    assert facts.calls == 0


def test_unknown_kinds_and_other_subresources_are_allowed(client: FlaskClient) -> None:
    crd = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert answer(client, review(crd))["response"]["allowed"] is True
    status = review(workload("Pod", TAG_ONLY), operation="UPDATE", subresource="status")
    assert answer(client, status)["response"]["allowed"] is True
    # A kind of the same name in another API group is not a Deployment.
    fake = review(workload("Deployment", TAG_ONLY))
    fake["request"]["kind"]["group"] = "example.com"
    assert answer(client, fake)["response"]["allowed"] is True


def test_update_is_evaluated(client: FlaskClient) -> None:
    body = review(workload("Deployment", TAG_ONLY), operation="UPDATE")
    assert answer(client, body)["response"]["allowed"] is False


def test_fixtures_are_denied_as_they_are_and_admitted_with_a_compliant_image(
    client: FlaskClient, fixtures_dir: Path
) -> None:
    reviews = fixture_reviews(fixtures_dir / "admission")
    assert len(reviews) >= 5
    for name, body in reviews.items():
        reply = answer(client, body)
        assert reply["response"]["uid"] == body["request"]["uid"], name
        assert reply["response"]["allowed"] is False, name
        compliant = answer(client, with_image(body, COMPLIANT))["response"]
        if "run-as-root" in name:  # runAsUser: 0 stays a violation with any image
            assert not compliant["allowed"] and "GATE-IMG-001" in compliant["status"]["message"]
        else:
            assert compliant["allowed"] is True, (name, compliant)


def test_identical_images_are_evaluated_once_per_review(
    make_app: AppFactory, compliant_facts: TrialFacts
) -> None:
    facts = CountingFacts(compliant_facts)
    client = make_app(facts=facts, facts_cache_ttl=0).test_client()
    obj = workload("Pod", COMPLIANT, COMPLIANT, COMPLIANT)
    obj["spec"]["containers"][1]["name"] = "app0"  # same name and context as the first
    assert answer(client, review(obj))["response"]["allowed"] is True
    assert len(facts.asked) == 2  # app0 (twice, identical) once; app2 once


def test_the_facts_cache_is_shared_across_requests(
    make_app: AppFactory, compliant_facts: TrialFacts
) -> None:
    facts = CountingFacts(compliant_facts)
    client = make_app(facts=facts).test_client()
    for name in ("a", "b", "c"):
        assert answer(client, review(workload("Pod", COMPLIANT, name=name)))["response"]["allowed"]
    assert len(facts.asked) == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gate_cache_lookups_total{cache="facts",result="hit"} 2.0' in metrics


def test_a_malformed_object_is_denied_with_code_400(client: FlaskClient) -> None:
    obj = workload("Deployment", COMPLIANT)
    obj["spec"]["template"]["spec"]["containers"] = "nginx"
    response = answer(client, review(obj))["response"]
    assert response["allowed"] is False and response["status"]["code"] == 400
    assert "is not a list" in response["status"]["message"]
    empty = workload("Pod", COMPLIANT)
    empty["spec"]["containers"] = []
    response = answer(client, review(empty))["response"]
    assert response["allowed"] is False and "no container" in response["status"]["message"]


def test_a_bug_in_a_fact_source_denies(make_app: AppFactory) -> None:
    client = make_app(facts=BrokenFacts()).test_client()
    response = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is False and "internal error" in response["status"]["message"]


def test_a_hanging_registry_is_denied_within_the_budget(make_app: AppFactory) -> None:
    budget = 0.5
    facts = HangingFacts()
    client = make_app(facts=facts, budget=budget).test_client()
    started = time.monotonic()
    response = answer(client, review(workload("Deployment", COMPLIANT)))["response"]
    elapsed = time.monotonic() - started
    assert response["allowed"] is False
    assert "time budget" in response["status"]["message"]
    assert "did not answer in time" in response["status"]["message"]
    assert facts.calls == 1
    assert elapsed <= budget + 0.25, elapsed
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gate_upstream_errors_total{kind="timeout"} 1.0' in metrics


def test_images_whose_facts_are_at_hand_are_decided_while_stalled_fetches_hold_the_pool(
    make_app: AppFactory, compliant_facts: TrialFacts
) -> None:
    # An attacker's stalled registry can hold every pool thread until the budget ends; an
    # image whose facts are at hand needs no pool thread: the request's thread decides it.
    repository = COMPLIANT.split("@")[0]
    stalled, cold = f"{repository}-stalled@sha256:{1:064x}", f"{repository}-cold@sha256:{2:064x}"
    facts = StallingFacts(compliant_facts, stalled, cold)
    app = make_app(facts=facts, pool_threads=1, decision_cache_ttl=0, budget=1.0)
    assert answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]["allowed"]
    holder = threading.Thread(
        target=answer, args=(app.test_client(), review(workload("Pod", stalled)))
    )
    holder.start()
    time.sleep(0.2)  # the stalled image holds the pool's only thread
    started = time.monotonic()
    warm = answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]
    assert warm["allowed"] is True and time.monotonic() - started < 0.5
    # An image that must be fetched still waits for a pool thread, and no longer than the budget.
    waiting = answer(app.test_client(), review(workload("Pod", cold, COMPLIANT)))["response"]
    assert not waiting["allowed"] and "time budget" in waiting["status"]["message"]
    assert cold in waiting["status"]["message"]
    holder.join(5)


def test_an_engine_without_a_timer_leaves_every_evaluation_to_the_pool(
    make_app: AppFactory, compliant_facts: TrialFacts
) -> None:
    # regorus's own binding cannot stop an evaluation at the deadline: on the request's
    # thread, a pathological evaluation would hold the review past its budget. Only the
    # pool evaluates for it, so a pool held by a stalled registry delays every image.
    engine = EmbeddedEngine(PolicySource(default_policy_dir()), binding="regorus")
    assert not engine.stops_at_deadline
    stalled = f"{COMPLIANT.split('@')[0]}-stalled@sha256:{1:064x}"
    facts = StallingFacts(compliant_facts, stalled)
    app = make_app(facts=facts, engine=engine, pool_threads=1, decision_cache_ttl=0, budget=0.5)
    assert answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]["allowed"]
    holder = threading.Thread(
        target=answer, args=(app.test_client(), review(workload("Pod", stalled)))
    )
    holder.start()
    time.sleep(0.2)
    warm = answer(app.test_client(), review(workload("Pod", COMPLIANT)))["response"]
    assert not warm["allowed"] and "time budget" in warm["status"]["message"]
    holder.join(5)


SLOW_POLICY = """# METADATA
# title: slow (test)
# description: Loops for minutes on any image.
# custom:
#   id: GATE-TEST-901
#   severity: low
#   remediation: none
#   scope: image
package gate.policies.slow

import data.gate.lib.context

violation contains context.result("never", "") if {
	some x in numbers.range(1, 20000)
	some y in numbers.range(1, 20000)
	x * y == -1
}
"""


def slow_engine(folder: Path, policy: str = SLOW_POLICY) -> EmbeddedEngine:
    """The shipped policies and ``policy`` beside them, copied into ``folder``."""
    policies = folder / "policies"
    shutil.copytree(default_policy_dir(), policies)
    (policies / "image" / "slow.rego").write_text(policy)
    return EmbeddedEngine(PolicySource(policies))


def test_an_evaluation_past_the_budget_is_stopped_and_frees_its_thread(
    make_app: AppFactory, tmp_path: Path, compliant_facts: TrialFacts
) -> None:
    # An image whose evaluation would run for minutes (here: a policy that loops) must not
    # keep the pool's thread once its review has timed out: with one pool thread, the next
    # review would time out too. regorus stops the evaluation at the review's deadline.
    app = make_app(engine=slow_engine(tmp_path), budget=0.5, pool_threads=1)
    client = app.test_client()
    started = time.monotonic()
    slow = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert not slow["allowed"] and "time budget" in slow["status"]["message"]
    assert time.monotonic() - started < 1.5
    time.sleep(0.2)  # the evaluation itself stops at the deadline, just after the answer
    tagged = answer(client, review(workload("Pod", TAG_ONLY)))["response"]
    assert not tagged["allowed"] and "GATE-REF-001" in tagged["status"]["message"]
    assert "time budget" not in tagged["status"]["message"]
    # Its facts are now at hand: the request's own thread evaluates it, and is stopped too.
    started = time.monotonic()
    again = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert not again["allowed"] and "time budget" in again["status"]["message"]
    assert time.monotonic() - started < 1.5
    # Three images at hand, in lanes (one per CPU, one on the request's thread): each lane's
    # image is stopped at the deadline, and the one left is not started; all denied for time.
    started = time.monotonic()
    three = answer(client, review(workload("Pod", COMPLIANT, COMPLIANT, COMPLIANT)))["response"]
    message = three["status"]["message"]
    assert not three["allowed"] and time.monotonic() - started < 1.5
    assert all(f"app{i}" in message for i in range(3)) and "time budget" in message, message


def test_a_slow_image_holds_its_own_lane_only(
    make_app: AppFactory, tmp_path: Path, any_digest_facts: TrialFacts
) -> None:
    # The images at hand are taken one after another by one lane per CPU: while one lane
    # is held by an image whose evaluation runs to the deadline, the other lane decides
    # every other image (fail-open would otherwise admit them unjudged).
    only_slow = SLOW_POLICY.replace(
        "\tsome x in numbers.range",
        '\tcontains(input.image.reference.original, "-slow")\n\tsome x in numbers.range',
    )
    engine = slow_engine(tmp_path, only_slow)
    app = make_app(facts=any_digest_facts, engine=engine, budget=1.0, decision_cache_ttl=0)
    app.extensions["gate"].evaluator.cpus = 2  # two lanes, on any machine
    client = app.test_client()
    repository = COMPLIANT.split("@")[0]
    images = [f"{repository}-slow@sha256:{0:064x}"] + [
        f"{repository}-{i}@sha256:{i:064x}" for i in range(1, 7)
    ]
    pod = review(workload("Pod", *images))
    answer(client, pod)  # fetched, each a work item of its own: now at hand
    started = time.monotonic()
    response = answer(client, pod)["response"]
    message = response["status"]["message"]
    assert time.monotonic() - started < 2.0
    assert not response["allowed"] and "time budget" in message and images[0] in message
    assert not any(image in message for image in images[1:]), message


class ExpiresAfter:
    """A clock at which every cache entry expires once it has been read ``reads`` times."""

    def __init__(self, reads: int) -> None:
        self.reads = reads

    def __call__(self) -> float:
        self.reads -= 1
        return time.monotonic() if self.reads >= 0 else float("inf")


def test_an_image_at_hand_is_never_fetched_by_its_lane(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    # The images judged at hand when a review starts are evaluated with the facts seen
    # then: were an entry to expire while its image waits for a lane, that lane (the
    # request's own thread among them) would fetch it, outside what the pool bounds.
    registry = CountingFacts(BrokenFacts())
    app = make_app(facts=registry, decision_cache_ttl=0)
    evaluator = app.extensions["gate"].evaluator
    evaluator.cpus = 1  # one lane: the request's thread takes both images in turn
    repository = COMPLIANT.split("@")[0]
    images = [f"{repository}-{i}@sha256:{i:064x}" for i in range(2)]
    for image in images:
        ref = parse_reference(image)
        evaluator.facts.cache.put(
            ref.normalized, any_digest_facts.gather(ref, time.monotonic() + 5)
        )
    evaluator.facts.cache.clock = ExpiresAfter(len(images))  # gone once judged at hand
    response = answer(app.test_client(), review(workload("Pod", *images)))["response"]
    assert response["allowed"] is True, response
    assert registry.asked == []


def test_fail_open_admits_a_timeout_with_a_warning(make_app: AppFactory) -> None:
    client = make_app(facts=HangingFacts(), budget=0.3, fail_open=True).test_client()
    response = answer(client, review(workload("Pod", COMPLIANT)))["response"]
    assert response["allowed"] is True
    assert response["warnings"][0].startswith("gate could not decide; admitted because fail-open")
    assert response["auditAnnotations"]["mode"] == "fail-open"
    # Violations are not errors: fail-open never admits them.
    tagged = answer(client, review(workload("Pod", TAG_ONLY)))["response"]
    assert tagged["allowed"] is False


def test_a_pod_of_a_thousand_distinct_images_is_decided_on_its_images(
    make_app: AppFactory, any_digest_facts: TrialFacts
) -> None:
    # Issue 14: decided on its images within the default budget, not denied for time.
    # The facts are at hand (warm) and no decision is cached: every image is evaluated.
    client = make_app(facts=any_digest_facts, decision_cache_ttl=0).test_client()
    images = [f"{COMPLIANT.split('@')[0]}-{i}@sha256:{i:064x}" for i in range(1000)]
    assert answer(client, review(workload("Pod", *images)))["response"]["allowed"] is True

    images[500] = TAG_ONLY
    denied = answer(client, review(workload("Pod", *images)))["response"]
    message = denied["status"]["message"]
    assert denied["allowed"] is False and "time budget" not in message
    assert "app500" in message and TAG_ONLY in message
