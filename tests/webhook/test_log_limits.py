"""Logs that survive Cloud Logging (issue 12, item 4): a decision line is at most 64 KB, past
that its findings are summarised and it says so; the AdmissionReview message stays within
8,000 characters and always names the first problems, whatever the size of the Pod, of an
image string or of the findings."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gate.policy.interface import Decision, Finding
from gate.webhook.evaluator import ImageResult
from gate.webhook.logging import JsonFormatter, log_decision
from gate.webhook.modes import ModeTable
from gate.webhook.outcome import MESSAGE_CHARS, decide
from gate.webhook.review import parse_review
from gate.webhook.workloads import Container
from tests.webhook.conftest import AppFactory, answer
from tests.webhook.reviews import review, workload

LINE_BYTES = 64 * 1024  # one Cloud Logging line, as the issue sets it
REGISTRY = "us-docker.pkg.dev/gate-samples/apps/"


@contextmanager
def captured() -> Iterator[list[str]]:
    """The decision lines logged meanwhile, as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gate.decision")
    logger.addHandler(handler)
    found: list[str] = []
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        found.extend(stream.getvalue().splitlines())


def decision_line(stream_lines: list[str]) -> dict[str, Any]:
    (line,) = stream_lines
    assert len(line.encode()) <= LINE_BYTES, len(line.encode())
    doc: dict[str, Any] = json.loads(line)
    return doc


def assert_names_the_first_problem(message: str, count: int) -> None:
    assert len(message) <= MESSAGE_CHARS, len(message)
    first, second = message.splitlines()[:2]
    assert first == f"gate denied the request: {count} problem{'s' * (count != 1)}"
    assert re.match(r"- container \S+, image .+: \[[\w:-]+\] \w", second), second[:300]


def test_a_single_very_long_image_string(make_app: AppFactory) -> None:
    image = REGISTRY + "a" * 300_000 + ":latest"
    with captured() as found:
        response = answer(make_app(budget=20.0).test_client(), review(workload("Pod", image)))
    message = response["response"]["status"]["message"]
    assert response["response"]["allowed"] is False and "more (see gate's logs)" not in message
    count = int(message.split(": ", 1)[1].split()[0])
    assert_names_the_first_problem(message, count)
    line = decision_line(found)
    assert line["truncated"] is True and "log line cut to 64 KB" in line["message"]
    assert line["findings"] and line["findings_total"] == sum(line["findings_by_policy"].values())
    assert "more characters" in line["images"][0]["image"]


def test_a_huge_pod(make_app: AppFactory) -> None:
    images = [f"{REGISTRY}{index:03d}-{'b' * 180}:latest" for index in range(150)]
    body = review(workload("Pod", *images))
    with captured() as found:
        response = answer(make_app(budget=25.0).test_client(), body)["response"]
    message = response["status"]["message"]
    count = int(message.split(": ", 1)[1].split()[0])
    assert count >= 150 and message.splitlines()[-1].startswith("... and ")
    assert_names_the_first_problem(message, count)
    line = decision_line(found)
    assert line["truncated"] is True and line["images_total"] == 150
    assert line["findings_total"] == count and len(line["findings"]) < count
    assert sum(line["findings_by_policy"].values()) == count


def test_thousands_of_findings() -> None:
    violations = tuple(
        Finding(f"GATE-IMG-{index % 7:03d}", "p", "high", "title", "m" * 300, "fix it")
        for index in range(3000)
    )
    result = ImageResult(
        (Container("app", "regular", "img"),), "img", "", Decision(False, violations)
    )
    outcome = decide([result], namespace="default", modes=ModeTable())
    assert_names_the_first_problem(outcome.message, 3000)
    parsed = parse_review(json.dumps(review(workload("Pod", "img"))).encode())
    with captured() as found:
        log_decision(parsed, outcome, [result], 0.01)
    line = decision_line(found)
    assert line["truncated"] is True and line["findings_total"] == 3000
    assert line["findings_by_policy"] == {
        f"GATE-IMG-{i:03d}": 3000 // 7 + (i < 3000 % 7) for i in range(7)
    }
    assert line["findings"][0]["code"] == "GATE-IMG-000"


def test_a_small_decision_line_is_whole() -> None:
    finding = Finding("GATE-REF-001", "digest", "high", "digest required", "no digest", "pin it")
    result = ImageResult(
        (Container("app", "regular", "img"),), "img", "", Decision(False, (finding,))
    )
    outcome = decide([result], namespace="default", modes=ModeTable())
    parsed = parse_review(json.dumps(review(workload("Pod", "img"))).encode())
    with captured() as found:
        log_decision(parsed, outcome, [result], 0.01)
    line = decision_line(found)
    assert "truncated" not in line and line["findings"][0]["text"].startswith("digest required")
