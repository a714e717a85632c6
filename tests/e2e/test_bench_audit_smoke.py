"""``bench/audit.py`` on a small cluster prints its side-by-side table (a smoke test; the
figures themselves are docs/audit.md's, from a full run)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT, require_tool
from tests.e2e.cluster import Binaries


def test_bench_audit_small(e2e_binaries: Binaries) -> None:
    require_tool("docker-registry", "GATE_DOCKER_REGISTRY")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "audit.py"), "--pods", "200", "--images", "40"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {
        line.split(" | ")[0]: line.split(" | ")
        for line in result.stdout.splitlines()
        if " | " in line
    }
    assert set(rows) >= {"cold", "warm", "warm, concurrency 2"}, result.stdout
    header = rows["run"]
    peak, registry = header.index("scan peak"), header.index("registry req")
    assert int(rows["cold"][peak]) <= 8 and int(rows["warm, concurrency 2"][peak]) <= 2
    assert int(rows["cold"][registry]) > 0 and int(rows["warm"][registry]) == 0
