"""``bench/eval.py --quick`` runs both real engines and prints its table,
``bench/decision_costs.py`` its breakdown, and ``bench/instructions.py`` its counts (CI
smoke)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.instructions import emptied
from tests.conftest import REPO_ROOT, require_tool

pytestmark = pytest.mark.integration


def run_bench(script: str, *args: str) -> str:
    """Run ``bench/<script>`` with ``args``; its standard output (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_bench_eval_quick() -> None:
    opa = require_tool("opa", "GATE_OPA")
    out = run_bench("eval.py", "--quick", "--opa", opa)
    assert "evals/s" in out and "p50 ms" in out and "p99 ms" in out
    for engine in ("embedded", "kept", "opa"):
        rows = [line.split() for line in out.splitlines() if line.startswith(engine + " ")]
        assert [row[1] for row in rows] == ["0", "100"], out
        assert all(float(row[4]) > 0 for row in rows), out  # evaluations per second
    assert "OPA (REST) / embedded" in out
    assert "cost per added finding" in out


def test_bench_decision_costs_runs() -> None:
    """``bench/decision_costs.py`` (where a decision's time goes) runs on the shipped policies."""
    out = run_bench("decision_costs.py", "--sizes", "0", "10", "--thread-seconds", "0.3")
    assert "per step" in out and "direct conversion" in out and "2 thread(s)" in out
    assert "+ gate.policies.vulnerabilities" in out


def test_bench_instructions_counts() -> None:
    """A count inside gate_regorus's eval_rule_document (about 6 million instructions a
    decision on the shipped policies; the bound only catches a count of nothing)."""
    require_tool("valgrind")
    out = run_bench("instructions.py", "--decisions", "2")
    counts = re.findall(r"([0-9,]+) kIr", out)
    assert len(counts) == 1, out
    assert int(counts[0].replace(",", "")) > 100, out


def test_bench_instructions_empties_a_package(tmp_path: Path) -> None:
    """--packages measures each policy emptied: its METADATA and package line kept."""
    copy = emptied(REPO_ROOT / "policies", "reference/digest.rego", tmp_path / "p")
    source = (copy / "reference" / "digest.rego").read_text()
    assert source.startswith("# METADATA") and source.endswith("package gate.policies.digest\n")
    assert (copy / "image" / "secrets.rego").read_text() == (
        REPO_ROOT / "policies" / "image" / "secrets.rego"
    ).read_text()


def test_bench_layers_runs() -> None:
    """``bench/layers.py`` serves the same review from each layer and OPA's server, and
    reads a CPU figure for every one."""
    opa = require_tool("opa", "GATE_OPA")
    out = run_bench("layers.py", "--seconds", "0.3", "--rounds", "1", "--opa", opa)
    rows = [line for line in out.splitlines() if re.match(r"[1-5]\. ", line)]
    assert len(rows) == 5, out
    assert all(float(re.findall(r" (\d+\.\d+)", row)[0]) > 0 for row in rows), out
    assert "the policy evaluation (4 - 3)" in out and "OPA's server answers" in out
