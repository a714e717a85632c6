"""``gate lint``: file:line output, JSON and SARIF, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.cli import main

PINNED = "python:3.12-slim@sha256:" + "a" * 64
CLEAN = f"FROM {PINNED}\nCOPY app.py /app/\nUSER 10001\n"
GOOD_IGNORE = ".git\n.env*\n**/node_modules\nid_rsa*\n**/*.key\n**/*.pem\n"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["lint", *argv])
    return code, capsys.readouterr().out


def _project(folder: Path, dockerfile: str, name: str = "Dockerfile") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(dockerfile)
    (folder / ".dockerignore").write_text(GOOD_IGNORE)
    return folder / name


def test_findings_are_printed_as_file_line(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    path = fixtures_dir / "dockerfiles" / "k8s-goat-users-repo-env-secret.Dockerfile"
    code, out = _run(capsys, str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "1 file: 2 violations, 2 warnings, 0 errors"
    assert [line.split(" ")[0:2] for line in lines[:-1]] == [
        [f"{path}:1:", "GATE-DF-001"],
        [f"{path}:1:", "GATE-DF-004"],
        [f"{path}:1:", "GATE-DF-012"],
        [f"{path}:4:", "GATE-DF-010"],
    ]
    assert "GATE-DF-010 critical violation: ENV API_KEY (line 4)" in out
    assert "cf658c56" not in out  # the secret itself is never printed


def test_clean_file_exits_0_and_warnings_alone_do_not_fail(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _run(capsys, str(_project(tmp_path / "clean", CLEAN))) == (
        0,
        "1 file: 0 violations, 0 warnings, 0 errors\n",
    )
    code, out = _run(
        capsys, str(_project(tmp_path / "warn", CLEAN.replace(PINNED, "python:3.12-slim")))
    )
    assert code == 0 and "GATE-DF-004 low warning" in out


def test_default_path_is_the_dockerfile_here(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, CLEAN)
    monkeypatch.chdir(tmp_path)
    assert (
        _run(
            capsys,
        )[0]
        == 0
    )


def test_folders_are_searched_for_dockerfiles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _project(tmp_path, CLEAN)
    _project(tmp_path / "svc", CLEAN, "api.Dockerfile")
    _project(tmp_path / "svc", CLEAN, "Containerfile.dev")
    _project(tmp_path / "node_modules" / "pkg", "FROM alpine\n")
    _project(tmp_path / ".git", "FROM alpine\n")
    (tmp_path / "svc" / "api.Dockerfile.dockerignore").write_text(GOOD_IGNORE)
    code, out = _run(capsys, str(tmp_path), "--output", "json")
    assert code == 0
    files = [Path(r["file"]).relative_to(tmp_path).as_posix() for r in json.loads(out)["results"]]
    assert files == ["Dockerfile", "svc/Containerfile.dev", "svc/api.Dockerfile"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"import os\n", "unknown instruction 'import'"),
        (b"\xff\xfe\x00\x01", "cannot read"),
        (b"", "not a valid Dockerfile"),
    ],
)
def test_errors_exit_2_and_other_files_are_still_linted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad" / "Dockerfile"
    bad.parent.mkdir()
    bad.write_bytes(content)
    good = _project(tmp_path / "good", "FROM alpine:latest\n")
    code, out = _run(capsys, str(bad), str(good))
    assert code == 2
    assert f"{bad}: error: " in out and message in out
    assert "GATE-DF-003" in out


def test_missing_paths_and_empty_folders_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = _run(capsys, str(tmp_path / "nope"))
    assert code == 2 and "not a file" in out
    assert main(["lint", str(tmp_path)]) == 2
    assert "no Dockerfile under" in capsys.readouterr().err


def test_json_output_carries_file_and_line(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    path = fixtures_dir / "dockerfiles" / "k8s-goat-hidden-in-layers-secret.Dockerfile"
    code, out = _run(capsys, str(path), "--output", "json")
    document = json.loads(out)
    assert code == 1 and document["allowed"] is False
    (result,) = document["results"]
    assert result["file"] == str(path) and result["entry_point"] == "lint"
    found = {(v["policy_id"], v["line"]) for v in result["violations"]}
    assert found == {("GATE-DF-003", 1), ("GATE-DF-012", 1), ("GATE-DF-011", 5), ("GATE-DF-013", 5)}
    assert all(v["file"] == str(path) for v in result["violations"])
    # A Dockerfile finding has no image, platform, container or exemption reason.
    keys = {"policy_id", "policy", "severity", "title", "message", "remediation", "file", "line"}
    assert all(set(f) == keys for f in result["violations"] + result["warnings"])


def test_data_overrides_apply(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _project(tmp_path, CLEAN.replace(PINNED, "python:3.12-slim"))
    override = tmp_path / "strict.json"
    override.write_text(
        json.dumps({"gate": {"params": {"dockerfile": {"base_digest": {"action": "deny"}}}}})
    )
    code, out = _run(capsys, str(path), "--data", str(override))
    assert code == 1 and "GATE-DF-004 low violation" in out


# The parts of SARIF 2.1.0 (OASIS) that code-scanning dashboards read.
SARIF_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs", "$schema"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "help"],
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["error", "warning", "note", "none"]},
                                "message": {"type": "object", "required": ["text"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_output(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(fixtures_dir)
    code, out = _run(
        capsys, "dockerfiles/k8s-goat-health-check-golang-latest.Dockerfile", "--output", "sarif"
    )
    log = json.loads(out)
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f"GATE-DF-{n:03d}" for n in range(1, 16)]
    assert all(r["properties"]["security-severity"] for r in rules)
    results = {
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
    }
    assert ("GATE-DF-015", "error", 13) in results and ("GATE-DF-009", "warning", 12) in results
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"dockerfiles/k8s-goat-health-check-golang-latest.Dockerfile"}
    assert code == 1 and run["invocations"][0]["executionSuccessful"] is True


def test_sarif_reports_errors_as_notifications(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("hello\n")
    code, out = _run(capsys, str(bad), "--output", "sarif")
    invocation = json.loads(out)["runs"][0]["invocations"][0]
    assert code == 2 and invocation["executionSuccessful"] is False
    assert "unknown instruction" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_gates_own_dockerfiles_lint_clean(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import REPO_ROOT, require

    paths = [p for p in REPO_ROOT.glob("Dockerfile*") if p.is_file()]
    paths += [p for p in REPO_ROOT.glob("deploy/**/*Dockerfile*") if p.is_file()]
    require(bool(paths), "gate has no Dockerfile (expected at ./Dockerfile or under deploy/)")
    code, out = _run(capsys, *(str(p) for p in paths if not p.name.endswith(".dockerignore")))
    assert code == 0, out
