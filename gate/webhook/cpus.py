"""How many CPUs this process may use: what the evaluator splits a review's images over.

>>> available_cpus() >= 1
True
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs in this process's affinity, capped by a cgroup v2 CPU quota (a container's
    CPU limit, rounded up) when there is one."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    if not (quota.isdigit() and period.isdigit()) or int(period) == 0:
        return cpus  # "max": no limit
    return max(1, min(cpus, math.ceil(int(quota) / int(period))))
