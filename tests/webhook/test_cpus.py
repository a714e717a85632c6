"""The CPUs gate splits a review's images over: its affinity, capped by a container's CPU
limit as cgroup v2 writes it (``cpu.max``: quota and period in microseconds, or ``max``)
or, on nodes still on cgroup v1, as the CFS quota (``cpu/cpu.cfs_quota_us``, -1 for none)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.webhook.cpus import available_cpus

AFFINITY = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000\n", AFFINITY),  # no limit
        ("50000 100000\n", 1),  # limits.cpu: 500m
        ("150000 100000\n", min(AFFINITY, 2)),  # 1.5 CPUs: rounded up
        ("100000000 100000\n", AFFINITY),  # a limit above the CPUs it may run on
        ("garbage\n", AFFINITY),
        ("100000 0\n", AFFINITY),
    ],
)
def test_a_cgroup_cpu_limit_caps_the_affinity(tmp_path: Path, cpu_max: str, expected: int) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert available_cpus(tmp_path) == expected


@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [
        ("-1\n", "100000\n", AFFINITY),  # no limit
        ("50000\n", "100000\n", 1),  # limits.cpu: 500m
        ("150000\n", "100000\n", min(AFFINITY, 2)),
        ("100000000\n", "100000\n", AFFINITY),
        ("garbage\n", "100000\n", AFFINITY),
        ("100000\n", "0\n", AFFINITY),
    ],
)
def test_a_cgroup_v1_cfs_quota_caps_the_affinity(
    tmp_path: Path, quota: str, period: str, expected: int
) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(quota)
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(period)
    assert available_cpus(tmp_path) == expected


def test_cgroup_v2_is_read_before_v1(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == 1


def test_without_a_cgroup_cpu_limit_the_affinity_counts(tmp_path: Path) -> None:
    assert available_cpus(tmp_path / "absent") == AFFINITY
    assert available_cpus(tmp_path) == AFFINITY


def test_without_an_affinity_call_the_machine_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # macOS has no os.sched_getaffinity: gate serve and gate audit must still start there.
    monkeypatch.delattr(os, "sched_getaffinity")
    assert available_cpus(tmp_path) == (os.cpu_count() or 1)
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert available_cpus(tmp_path) == 1
