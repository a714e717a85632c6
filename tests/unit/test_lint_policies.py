"""The Dockerfile policies on real Dockerfiles: every fixture's findings, a failing and a
passing case for every rule, parameters from data, and parity with a real OPA."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gate.lint.parser import parse_file, parse_text
from gate.lint.run import Linter, LintResult
from gate.policy.interface import Scope
from gate.policy.loader import PolicySet, load_policy_set
from gate.policy.source import PolicySource
from tests.conftest import require_tool

Finding = tuple[str, str, int]  # (kind, id, line)

# What each fixture Dockerfile breaks, by rule id and line ("V" violation, "W" warning).
EXPECTED: dict[str, set[Finding]] = {
    "distroless-go-multistage.Dockerfile": {
        ("W", "GATE-DF-004", 1),  # golang:1.22 not pinned by digest
        ("V", "GATE-DF-001", 4),  # no .dockerignore, COPY . .
        ("V", "GATE-DF-002", 4),  # COPY . . before go mod download (line 6)
        ("V", "GATE-DF-003", 12),  # distroless without a tag
        ("W", "GATE-DF-004", 12),
        ("V", "GATE-DF-012", 12),  # no USER in the final stage
    },
    "distroless-nodejs-express-add.Dockerfile": {
        ("W", "GATE-DF-004", 1),
        ("V", "GATE-DF-001", 2),  # ADD . /app, no .dockerignore
        ("V", "GATE-DF-002", 2),  # before npm install (line 4)
        ("V", "GATE-DF-013", 2),  # ADD of a local folder
        ("V", "GATE-DF-003", 6),
        ("W", "GATE-DF-004", 6),
        ("V", "GATE-DF-012", 6),
    },
    "distroless-python3-venv-multistage.Dockerfile": {
        ("W", "GATE-DF-004", 4),
        ("V", "GATE-DF-003", 20),
        ("W", "GATE-DF-004", 20),
        ("V", "GATE-DF-012", 20),
        ("V", "GATE-DF-001", 22),  # COPY . /app; no install after it, so no GATE-DF-002
    },
    "juice-shop-distroless-user-65532.Dockerfile": {
        ("W", "GATE-DF-004", 1),
        ("V", "GATE-DF-001", 2),
        ("V", "GATE-DF-002", 2),  # COPY . before npm install --omit=dev (line 5)
        ("V", "GATE-DF-003", 22),
        ("W", "GATE-DF-004", 22),  # USER 65532 in the final stage: no GATE-DF-012
    },
    "k8s-goat-health-check-golang-latest.Dockerfile": {
        ("W", "GATE-DF-001", 1),  # no .dockerignore, no COPY of the whole context
        ("V", "GATE-DF-003", 1),  # golang:latest
        ("W", "GATE-DF-004", 1),
        ("V", "GATE-DF-007", 1),  # full-size golang image as the runtime
        ("V", "GATE-DF-012", 1),
        ("W", "GATE-DF-009", 12),  # apt install without removing the lists
        ("V", "GATE-DF-015", 13),  # go build in the final image
    },
    "k8s-goat-hidden-in-layers-secret.Dockerfile": {
        ("W", "GATE-DF-001", 1),
        ("V", "GATE-DF-003", 1),  # alpine:latest
        ("W", "GATE-DF-004", 1),
        ("V", "GATE-DF-012", 1),
        ("V", "GATE-DF-011", 5),  # ADD secret.txt
        ("V", "GATE-DF-013", 5),  # ADD of a plain file
    },
    "k8s-goat-users-repo-env-secret.Dockerfile": {
        ("W", "GATE-DF-001", 1),
        ("W", "GATE-DF-004", 1),
        ("V", "GATE-DF-012", 1),
        ("V", "GATE-DF-010", 4),  # ENV API_KEY="..."
    },
}


@pytest.fixture(scope="module")
def policy_set(policies_dir: Path) -> PolicySet:
    return load_policy_set(policies_dir)


@pytest.fixture(scope="module")
def linter(policies_dir: Path) -> Linter:
    return Linter.embedded(PolicySource(policies_dir))


def _found(result: LintResult, rule: str | None = None) -> set[Finding]:
    decision = result.decision
    assert not decision.errors, decision.errors
    found = {("V", f.policy_id, f.line) for f in decision.violations}
    found |= {("W", f.policy_id, f.line) for f in decision.warnings}
    return {f for f in found if rule is None or f[1] == rule}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings(linter: Linter, fixtures_dir: Path, name: str) -> None:
    result = linter.lint_file(fixtures_dir / "dockerfiles" / name)
    assert _found(result) == EXPECTED[name]
    assert all(f.file == result.file and f.severity and f.remediation for f in result.findings)


def test_every_rule_is_in_the_catalog(policy_set: PolicySet) -> None:
    ids = sorted(info.id for info in policy_set.lint_catalog.values())
    assert ids == [f"GATE-DF-{n:03d}" for n in range(1, 16)]
    assert {info.scope for info in policy_set.lint_catalog.values()} == {"dockerfile"}
    assert {info.severity for info in policy_set.lint_catalog.values()} <= {
        "critical",
        "high",
        "medium",
        "low",
    }


PINNED = "python:3.12-slim@sha256:" + "a" * 64
# (rule, Dockerfile, expected findings of that rule). Every rule fails and passes at least once.
CASES: list[tuple[str, str, set[Finding]]] = [
    (
        "GATE-DF-002",
        f"FROM {PINNED}\nCOPY . .\nRUN pip install -r requirements.txt\n",
        {("V", "GATE-DF-002", 2)},
    ),
    (
        "GATE-DF-002",
        f"FROM {PINNED}\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
        set(),
    ),
    ("GATE-DF-003", "FROM alpine\n", {("V", "GATE-DF-003", 1)}),
    ("GATE-DF-003", "ARG BASE\nFROM $BASE\n", {("W", "GATE-DF-003", 2)}),
    ("GATE-DF-003", "ARG BASE=alpine:latest\nFROM $BASE\n", {("V", "GATE-DF-003", 2)}),
    ("GATE-DF-003", "ARG BASE=alpine:3.20\nFROM ${BASE}\n", set()),
    ("GATE-DF-004", "FROM alpine:3.20\nFROM scratch\n", {("W", "GATE-DF-004", 1)}),
    ("GATE-DF-004", f"FROM {PINNED}\n", set()),
    ("GATE-DF-005", "FROM gcr.io/my-project/base:1.0\n", {("W", "GATE-DF-005", 1)}),
    ("GATE-DF-005", "FROM gcr.io/distroless/static-debian12:nonroot\n", set()),
    ("GATE-DF-006", "FROM quay.io/org/base:1.0\n", {("V", "GATE-DF-006", 1)}),
    ("GATE-DF-006", "FROM europe-docker.pkg.dev/p/r/base:1.0\nFROM node:22-slim\n", set()),
    ("GATE-DF-007", "FROM golang:1.22 AS build\nFROM build\n", {("V", "GATE-DF-007", 2)}),
    ("GATE-DF-007", "FROM golang:1.22 AS build\nFROM python:3.12-slim\n", set()),
    (
        "GATE-DF-008",
        "FROM python:3.12-alpine\nRUN apk add --no-cache gcc musl-dev && pip install --no-cache-dir x\n",
        {("W", "GATE-DF-008", 2)},
    ),
    ("GATE-DF-008", "FROM python:3.12-alpine\nRUN pip install --no-cache-dir flask\n", set()),
    (
        "GATE-DF-009",
        "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n",
        {("W", "GATE-DF-009", 2), ("V", "GATE-DF-009", 3)},
    ),
    (
        "GATE-DF-009",
        "FROM debian:12-slim\nRUN apt-get update \\\n && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists/*\n",
        set(),
    ),
    (
        "GATE-DF-010",
        "FROM alpine:3.20\nARG NPM_TOKEN\nENV DB_PASSWORD=hunter2\n",
        {("W", "GATE-DF-010", 2), ("V", "GATE-DF-010", 3)},
    ),
    (
        "GATE-DF-010",
        "FROM alpine:3.20\nENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PASSWORD_FILE=/run/secrets/db\n",
        set(),
    ),
    ("GATE-DF-011", "FROM alpine:3.20\nCOPY .env id_rsa /app/\n", {("V", "GATE-DF-011", 2)}),
    ("GATE-DF-011", "FROM alpine:3.20\nCOPY .env.example ca.pem /app/\n", set()),
    (
        "GATE-DF-012",
        "FROM alpine:3.20 AS build\nUSER app\nFROM alpine:3.20\n",
        {("V", "GATE-DF-012", 3)},
    ),
    ("GATE-DF-012", "FROM alpine:3.20\nUSER app\nUSER 0\n", {("V", "GATE-DF-012", 3)}),
    ("GATE-DF-012", "FROM alpine:3.20\nARG UID=0\nUSER ${UID}:0\n", {("V", "GATE-DF-012", 3)}),
    ("GATE-DF-012", "FROM alpine:3.20\nARG UID\nUSER $UID\n", {("W", "GATE-DF-012", 3)}),
    (
        "GATE-DF-012",
        "FROM alpine:3.20\nUSER root\nRUN apk add --no-cache curl\nUSER 10001\n",
        set(),
    ),
    ("GATE-DF-012", "FROM alpine:3.20 AS base\nARG UID=10001\nUSER $UID\nFROM base\n", set()),
    (
        "GATE-DF-013",
        "FROM alpine:3.20\nADD https://example.com/tool.tgz /opt/\n",
        {("V", "GATE-DF-013", 2)},
    ),
    (
        "GATE-DF-013",
        "FROM alpine:3.20\nADD --checksum=sha256:abc https://example.com/t.tgz /opt/\nADD rootfs.tar.gz /\n",
        set(),
    ),
    (
        "GATE-DF-014",
        "FROM alpine:3.20\nRUN <<EOF\nset -e\ncurl -fsSL https://x.example/install.sh | sh\nEOF\n",
        {("V", "GATE-DF-014", 2)},
    ),
    (
        "GATE-DF-014",
        "FROM alpine:3.20\nRUN curl -fsSLo /tmp/i.sh https://x.example/i.sh \\\n # | sh would be wrong\n && sh /tmp/i.sh\n",
        set(),
    ),
    (
        "GATE-DF-015",
        "FROM rust:1.80-slim\nCOPY . .\nRUN cargo build --release\n",
        {("V", "GATE-DF-015", 3)},
    ),
    (
        "GATE-DF-015",
        "FROM rust:1.80-slim AS build\nRUN cargo build --release\nFROM debian:12-slim\nCOPY --from=build /t /t\n",
        set(),
    ),
]


@pytest.mark.parametrize(("rule", "text", "expected"), CASES)
def test_constructed_cases(linter: Linter, rule: str, text: str, expected: set[Finding]) -> None:
    assert _found(linter.lint_text(text), rule) == expected


def test_every_rule_has_a_failing_and_a_passing_case() -> None:
    rules = {f"GATE-DF-{n:03d}" for n in range(2, 16)}
    assert {rule for rule, _, expected in CASES if expected} == rules
    assert {rule for rule, _, expected in CASES if not expected} == rules


def _write(folder: Path, dockerfile: str, ignore: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    if ignore is not None:
        (folder / ".dockerignore").write_text(ignore)
    return folder / "Dockerfile"


GOOD_IGNORE = ".git\n.env*\n**/node_modules\nid_rsa*\n**/*.key\n**/*.pem\n"


@pytest.mark.parametrize(
    ("dockerfile", "ignore", "expected"),
    [
        (f"FROM {PINNED}\nCOPY . /app\n", None, {("V", "GATE-DF-001", 2)}),
        (f"FROM {PINNED}\nCOPY . /app\n", ".git\nnode_modules\n", {("V", "GATE-DF-001", 2)}),
        (
            f"FROM {PINNED}\nCOPY . /app\n",
            GOOD_IGNORE + "!.env.production\n",
            {("V", "GATE-DF-001", 2)},
        ),
        (f"FROM {PINNED}\nCOPY app.py /app/\n", None, {("W", "GATE-DF-001", 1)}),
        (f"FROM {PINNED}\nCOPY . /app\n", GOOD_IGNORE, set()),
        (f"FROM {PINNED}\nCOPY . /app\n", "*\n!app/\n", set()),
    ],
)
def test_dockerignore_cases(
    linter: Linter, tmp_path: Path, dockerfile: str, ignore: str | None, expected: set[Finding]
) -> None:
    result = linter.lint_file(_write(tmp_path, dockerfile, ignore))
    assert _found(result, "GATE-DF-001") == expected


def test_parameters_come_from_data(policies_dir: Path, tmp_path: Path) -> None:
    override = tmp_path / "data.yaml"
    override.write_text(
        "gate:\n  params:\n"
        "    registries: {approved: ['quay.io/org/**']}\n"
        "    gcr: {action: deny}\n"
        "    dockerfile:\n      base_digest: {action: deny}\n      base_images: {exceptions: []}\n"
    )
    linter = Linter.embedded(PolicySource(policies_dir, [override]))
    result = linter.lint_text("FROM quay.io/org/base:1.0\nFROM gcr.io/distroless/static:nonroot\n")
    assert _found(result) - _found(result, "GATE-DF-001") == {
        ("V", "GATE-DF-004", 1),
        ("V", "GATE-DF-004", 2),
        ("V", "GATE-DF-005", 2),
        ("V", "GATE-DF-006", 2),
    }


def test_the_same_decision_on_real_opa(
    policy_set: PolicySet, linter: Linter, fixtures_dir: Path, tmp_path: Path
) -> None:
    opa = require_tool("opa", "GATE_OPA")
    data = tmp_path / "data.json"
    data.write_text(json.dumps(policy_set.data))
    documents = [parse_file(p) for p in sorted((fixtures_dir / "dockerfiles").iterdir())]
    documents += [parse_text(text) for _, text, _ in CASES]
    modules = [
        arg
        for m in policy_set.policy_modules
        for arg in ("-d", _module(tmp_path, m.path, m.source))
    ]
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"documents": documents}))
    query = (
        "[y | some d in input.documents; y := data.gate.dockerfile.main.decision with input as d]"
    )
    completed = subprocess.run(
        [opa, "eval", "--format", "json", *modules, "-d", str(data), "-i", str(inputs), query],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    from_opa = json.loads(completed.stdout)["result"][0]["expressions"][0]["value"]
    assert len(from_opa) == len(documents)
    for document, opa_decision in zip(documents, from_opa, strict=True):
        assert _canonical(opa_decision) == _canonical(_raw_decision(linter, document))


def _raw_decision(linter: Linter, document: Any) -> Any:
    return linter.engine.query(document, Scope.DOCKERFILE)


def _module(folder: Path, path: str, source: str) -> str:
    target = folder / "policies" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    return str(target)


def _canonical(decision: dict[str, Any]) -> dict[str, Any]:
    return {
        key: sorted(json.dumps(v, sort_keys=True) for v in value)
        if isinstance(value, list)
        else value
        for key, value in decision.items()
    }
