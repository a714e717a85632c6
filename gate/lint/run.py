"""Lint Dockerfiles: parse each one, evaluate ``data.gate.dockerfile.main.decision`` in process.

The Dockerfile policies run on the embedded engine with the same policy set and
parameters as the image policies (``--policies``, ``--data``). A file that cannot be
read or is not a Dockerfile becomes a result with an error, and the run goes on with
the other files.

    >>> from gate.policy.loader import default_policy_dir, load_policy_set
    >>> linter = Linter(load_policy_set(default_policy_dir()))
    >>> result = linter.lint_text("FROM python:3.12-slim@sha256:" + "a" * 64 + "\\nUSER 10001\\n")
    >>> [f.policy_id for f in result.decision.violations]
    []
    >>> print(render_text([result]).splitlines()[-1])
    1 file: 0 violations, 1 warnings, 0 errors
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gate.errors import GateError, InputError
from gate.lint.document import LintInput
from gate.lint.parser import parse_file, parse_text
from gate.policy.embedded import build_regorus, first_value, rego_error_text
from gate.policy.interface import Decision, EngineError, Finding
from gate.policy.loader import PolicySet

QUERY = "data.gate.dockerfile.main.decision"
ENTRY_POINT = "lint"
ENGINE = "embedded"
_NAMES = ("Dockerfile", "Containerfile")
_SKIPPED_FOLDERS = frozenset({"node_modules", "venv", "__pycache__"})


@dataclass(frozen=True)
class LintResult:
    """The decision about one Dockerfile; findings sorted by line."""

    file: str
    decision: Decision

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(sorted((*self.decision.violations, *self.decision.warnings), key=_order))


class Linter:
    """The Dockerfile policies of ``policy_set``, compiled once for many files."""

    def __init__(self, policy_set: PolicySet) -> None:
        if not policy_set.lint_catalog:
            raise EngineError(
                f"no Dockerfile policies (package gate.dockerfile.<name>) in {policy_set.origin}",
                hint="point --policies at a policy set that has policies/dockerfile",
            )
        self.policy_set = policy_set
        self._engine = build_regorus(policy_set)

    def evaluate(self, document: Mapping[str, Any]) -> Decision:
        """The decision on one lint input document; an engine failure denies."""
        try:
            self._engine.set_input_json(json.dumps(document))
            raw = first_value(self._engine.eval_query_as_json(QUERY))
        except (RuntimeError, ValueError, TypeError) as exc:
            error = EngineError(f"policy evaluation failed: {rego_error_text(exc)}")
            return Decision.from_error(error, ENTRY_POINT, engine=ENGINE)
        decision = Decision.from_rego(raw, entry_point=ENTRY_POINT, engine=ENGINE)
        return replace(
            decision,
            violations=tuple(sorted(decision.violations, key=_order)),
            warnings=tuple(sorted(decision.warnings, key=_order)),
        )

    def lint_file(self, path: Path) -> LintResult:
        try:
            document: LintInput = parse_file(path)
        except GateError as exc:
            return LintResult(str(path), Decision.from_error(exc, ENTRY_POINT, engine=ENGINE))
        return LintResult(str(path), self.evaluate(document))

    def lint_text(self, text: str, file: str = "Dockerfile") -> LintResult:
        """Lint Dockerfile text (no .dockerignore); parse errors raise InputError."""
        return LintResult(file, self.evaluate(parse_text(text, file)))


def find_dockerfiles(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the Dockerfiles under the folders named (hidden folders skipped).

    Dockerfile, Containerfile, ``*.Dockerfile`` and ``Dockerfile.*`` count; a folder with
    none is an error.
    """
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        found = sorted(p for p in path.rglob("*") if _is_dockerfile(p, path))
        if not found:
            raise InputError(
                f"no Dockerfile under {path}",
                hint="name the files (Dockerfile, *.Dockerfile, Containerfile) or their folder",
            )
        yield from found


def lint_paths(paths: Iterable[Path], policy_set: PolicySet) -> list[LintResult]:
    linter = Linter(policy_set)
    return [linter.lint_file(path) for path in find_dockerfiles(paths)]


def exit_code(results: Iterable[LintResult]) -> int:
    """2 when any file had an error, 1 when any has a violation, else 0 (warnings pass)."""
    decisions = [result.decision for result in results]
    if any(decision.errors for decision in decisions):
        return 2
    return 1 if any(decision.violations for decision in decisions) else 0


def _is_dockerfile(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p.startswith(".") or p in _SKIPPED_FOLDERS for p in parts[:-1]) or not path.is_file():
        return False
    name = path.name
    if name.endswith(".dockerignore"):
        return False
    return (
        name in _NAMES
        or name.endswith((".Dockerfile", ".dockerfile"))
        or (name.startswith(tuple(f"{n}." for n in _NAMES)))
    )


def _order(finding: Finding) -> tuple[str, int, str, str]:
    return (finding.file, finding.line, finding.policy_id, finding.message)


def render_text(results: Sequence[LintResult]) -> str:
    """One line per finding, ``file:line: ID severity kind: message``, then a summary."""
    lines: list[str] = []
    for result in results:
        for error in result.decision.errors:
            hint = f" (hint: {error.hint})" if error.hint else ""
            lines.append(f"{result.file}: error: {error.message}{hint}")
        violations = set(result.decision.violations)
        for finding in result.findings:
            kind = "violation" if finding in violations else "warning"
            lines.append(
                f"{finding.file or result.file}:{finding.line}: {finding.policy_id} "
                f"{finding.severity} {kind}: {finding.message}"
            )
    lines.append(_summary(results))
    return "\n".join(lines)


def render_json(results: Sequence[LintResult]) -> str:
    """``{"allowed", "results": [{"file", ...decision}]}``, like ``gate eval --output json``."""
    document = {
        "allowed": all(r.decision.allowed for r in results),
        "results": [{"file": r.file, **r.decision.to_dict()} for r in results],
    }
    return json.dumps(document, indent=2)


def _summary(results: Sequence[LintResult]) -> str:
    violations = sum(len(r.decision.violations) for r in results)
    warnings = sum(len(r.decision.warnings) for r in results)
    errors = sum(len(r.decision.errors) for r in results)
    files = f"{len(results)} file" + ("" if len(results) == 1 else "s")
    return f"{files}: {violations} violations, {warnings} warnings, {errors} errors"
