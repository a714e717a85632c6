"""The CPUs gate splits a review's images over: its affinity, capped by a container's CPU
limit as cgroup v2 writes it (``cpu.max``: quota and period in microseconds, or ``max``)."""

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
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    assert available_cpus(path) == expected


def test_without_cgroup_v2_the_affinity_counts(tmp_path: Path) -> None:
    assert available_cpus(tmp_path / "absent") == AFFINITY
