"""What one audit run found (:class:`AuditRun`): its verdicts, its errors, its exit code.

>>> from datetime import UTC, datetime
>>> run = AuditRun(datetime(2026, 1, 1, tzinfo=UTC))
>>> run.exit_code   # nothing was read: an error
2
>>> phases = Phases(run.phases)
>>> with phases("list"):
...     pass
>>> list(run.phases)
['list']
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gate.audit.inventory import Inventory
from gate.audit.judge import Verdict
from gate.audit.store import Written
from gate.errors import GateError

EXIT_OK, EXIT_VIOLATING, EXIT_ERROR = 0, 1, 2


@dataclass
class AuditRun:
    started_at: datetime
    seconds: float = 0.0
    inventory: Inventory | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[GateError] = field(default_factory=list)  # of the run, not of one image
    exempt: tuple[str, ...] = ()
    written: Written | None = None
    events: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: list, judge, reports, events

    @property
    def exit_code(self) -> int:
        """2 when anything could not be read or judged, else 1 when anything violates."""
        if self.errors or self.inventory is None or any(v.errors for v in self.verdicts):
            return EXIT_ERROR
        return EXIT_VIOLATING if any(v.status == "violating" for v in self.verdicts) else EXIT_OK

    def summary(self) -> dict[str, Any]:
        statuses = Counter(v.status for v in self.verdicts)
        judged = [j for v in self.verdicts for j in v.judged]
        return {
            "workloads": len(self.verdicts),
            "pods": self.inventory.pods if self.inventory else 0,
            "namespaces": len({v.workload.ref.namespace for v in self.verdicts}),
            "compliant": statuses["compliant"],
            "violating": statuses["violating"],
            "errored": statuses["error"],
            "break_glass": sum(v.break_glass for v in self.verdicts),
            "images": len({j.image.reference for j in judged}),
            "digests": len({j.digest for j in judged if j.digest}),
            "exempt_namespaces": list(self.exempt),
            "reports": None if self.written is None else _written(self.written),
            "events": self.events,
            "errors": len(self.errors),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
        }

    def error_counts(self) -> Counter[str]:
        counts = Counter(e.kind for v in self.verdicts for e in v.errors)
        counts.update(e.kind for e in self.errors)
        return counts


class Phases:
    """``with phases("judge"):`` adds the block's seconds to ``times["judge"]``."""

    def __init__(self, times: dict[str, float]) -> None:
        self.times = times

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.monotonic() - began


def _written(written: Written) -> dict[str, int]:
    return {
        "created": written.created,
        "replaced": written.replaced,
        "unchanged": written.unchanged,
        "deleted": written.deleted,
        "failed": len(written.errors),
    }
