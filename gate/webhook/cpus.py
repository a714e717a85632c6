"""How many CPUs this process may use: what the evaluator splits a review's images over.

>>> available_cpus() >= 1
True
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup: Path = CGROUP_ROOT) -> int:
    """The CPUs in this process's affinity, capped by a container's CPU limit (rounded up)
    when its cgroup has one: cgroup v2's ``cpu.max``, else cgroup v1's CFS quota."""
    cpus = _affinity()
    limit = _v2_quota(cgroup / "cpu.max") or _v1_quota(cgroup / "cpu")
    if limit is None:
        return cpus
    return max(1, min(cpus, math.ceil(limit)))


def _affinity() -> int:
    """The CPUs this process may run on; all of the machine's where the platform has no
    affinity call (macOS, where developers run ``gate serve`` for trials)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _v2_quota(cpu_max: Path) -> float | None:
    """``cpu.max``: "<quota> <period>" in microseconds, or "max <period>" for no limit."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return _ratio(quota, period)


def _v1_quota(cpu: Path) -> float | None:
    """``cpu.cfs_quota_us`` (-1 for no limit) over ``cpu.cfs_period_us``."""
    try:
        quota = (cpu / "cpu.cfs_quota_us").read_text().strip()
        period = (cpu / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    if not (quota.isdigit() and period.isdigit()) or int(period) == 0 or int(quota) == 0:
        return None  # "max", -1 or garbage: no limit gate can read
    return int(quota) / int(period)
