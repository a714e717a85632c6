"""What the Dockerfile policies decide about one Dockerfile: findings at ``file:line``.

A :class:`LintFinding` is a policy result in a Dockerfile (no image, platform or
container: those are image findings, :class:`gate.policy.interface.Finding`). A
:class:`LintDecision` is the ``data.gate.dockerfile.main.decision`` object, findings
sorted by file and line; an undefined or malformed result, like an engine failure,
is an error and fails the file.

    >>> raw = {"allowed": False, "violations": [{"id": "GATE-DF-012", "severity": "high",
    ...     "msg": "no USER", "file": "Dockerfile", "line": 3.0}], "warnings": []}
    >>> decision = LintDecision.from_rego(raw, engine="embedded")
    >>> decision.allowed, decision.violations[0].line, sorted(decision.to_dict()["violations"][0])
    (False, 3, ['file', 'line', 'message', 'policy', 'policy_id', 'remediation', 'severity', 'title'])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gate.errors import GateError
from gate.policy.interface import (
    EngineError,
    ErrorRecord,
    PolicyResult,
    Scope,
    decision_object,
    policy_fields,
    rego_items,
)

ENTRY_POINT = "lint"


@dataclass(frozen=True)
class LintFinding(PolicyResult):
    """One Dockerfile policy result, at a file and a 1-based line (0: the whole file)."""

    file: str = ""
    line: int = 0

    @classmethod
    def from_rego(cls, raw: Any) -> LintFinding:
        return cls(**policy_fields(raw), file=str(raw.get("file", "") or ""), line=_line(raw))

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.policy_id, self.message)


@dataclass(frozen=True)
class LintDecision:
    """``allowed`` only with no violation and no error (warnings pass)."""

    allowed: bool
    violations: tuple[LintFinding, ...] = ()
    warnings: tuple[LintFinding, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    engine: str = ""

    @classmethod
    def from_rego(cls, raw: Any, *, engine: str) -> LintDecision:
        try:
            decision = decision_object(raw, Scope.DOCKERFILE)
        except EngineError as exc:
            return cls.from_error(exc, engine=engine)
        violations = _findings(decision.get("violations"))
        return cls(
            allowed=bool(decision["allowed"]) and not violations,
            violations=violations,
            warnings=_findings(decision.get("warnings")),
            engine=engine,
        )

    @classmethod
    def from_error(cls, error: GateError, *, engine: str = "") -> LintDecision:
        record = ErrorRecord(kind=error.kind, message=error.message, hint=error.hint)
        return cls(allowed=False, errors=(record,), engine=engine)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: an image decision's keys (``exempted``, ``extra`` always empty:
        lint has no exemptions), each finding with its file and line."""
        return {
            "allowed": self.allowed,
            "violations": [asdict(f) for f in self.violations],
            "warnings": [asdict(f) for f in self.warnings],
            "exempted": [],
            "errors": [asdict(e) for e in self.errors],
            "entry_point": ENTRY_POINT,
            "engine": self.engine,
            "extra": {},
        }


def _findings(raw: Any) -> tuple[LintFinding, ...]:
    found = map(LintFinding.from_rego, rego_items(raw))
    return tuple(sorted(found, key=LintFinding.sort_key))


def _line(raw: Any) -> int:
    """A line number from Rego (a JSON number, possibly 12.0); 0 when absent or invalid."""
    line = raw.get("line")
    if isinstance(line, bool) or not isinstance(line, int | float):
        return 0
    return int(line) if line >= 0 else 0
