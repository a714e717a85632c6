"""``bench/attest.py --quick`` starts its own gRPC server and prints its table (CI smoke)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def test_bench_attest_quick() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "attest.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {
        line[:24].strip(): line[24:].split()
        for line in result.stdout.splitlines()
        if line.startswith(("local key", "Cloud KMS"))
    }
    for signer in ("local key", "Cloud KMS (gRPC)"):
        for operation in ("sign", "attest", "exists"):
            rate = rows[f"{signer} {operation}"][0]
            assert rate.endswith("/s") and float(rate[:-2]) > 0, result.stdout
