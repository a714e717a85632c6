"""Lint Dockerfiles: parse each one and evaluate the Dockerfile policies on the engine.

The Dockerfile policies run through the :class:`~gate.policy.interface.Engine` interface
(``Scope.DOCKERFILE``: ``data.gate.dockerfile.main.decision``), embedded or on OPA
(``--engine opa``), with the same policy set and parameters as the image policies
(``--policies``, ``--data``). A file that cannot be read or is not a Dockerfile becomes a
result with an error, and the run goes on with the other files.

    >>> from gate.policy.loader import default_policy_dir
    >>> from gate.policy.source import PolicySource
    >>> linter = Linter.embedded(PolicySource(default_policy_dir()))
    >>> result = linter.lint_text("FROM python:3.12-slim@sha256:" + "a" * 64 + "\\nUSER 10001\\n")
    >>> [f.policy_id for f in result.decision.violations], result.decision.engine
    ([], 'embedded')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.config import Settings
from gate.errors import GateError, InputError
from gate.lint.decision import LintDecision, LintFinding
from gate.lint.document import LintInput
from gate.lint.parser import parse_file, parse_text
from gate.policy.embedded import EmbeddedEngine
from gate.policy.engines import create_engine, policy_source
from gate.policy.interface import Engine, EngineError, Scope
from gate.policy.loader import PolicyInfo
from gate.policy.source import PolicySource

_NAMES = ("Dockerfile", "Containerfile")
_SKIPPED_FOLDERS = frozenset({"node_modules", "venv", "__pycache__"})


@dataclass(frozen=True)
class LintResult:
    """The decision about one Dockerfile; findings sorted by line."""

    file: str
    decision: LintDecision

    @property
    def findings(self) -> tuple[LintFinding, ...]:
        found = (*self.decision.violations, *self.decision.warnings)
        return tuple(sorted(found, key=LintFinding.sort_key))


class Linter:
    """The Dockerfile policies on ``engine``; ``catalog`` is their metadata (for SARIF)."""

    def __init__(self, engine: Engine, catalog: Mapping[str, PolicyInfo], origin: str) -> None:
        if not catalog:
            raise EngineError(
                f"no Dockerfile policies (package gate.dockerfile.<name>) in {origin}",
                hint="point --policies at a policy set that has policies/dockerfile",
            )
        self.engine, self.catalog = engine, catalog

    @classmethod
    def embedded(cls, source: PolicySource) -> Linter:
        """The embedded engine on ``source``'s policy set."""
        policy_set = source.current()
        return cls(EmbeddedEngine(source), policy_set.lint_catalog, str(policy_set.origin))

    @classmethod
    def from_settings(cls, settings: Settings) -> Linter:
        """The engine the settings name (``GATE_ENGINE``), on their policy set and data."""
        source = policy_source(settings)
        policy_set = source.current()
        engine = create_engine(settings, source)
        return cls(engine, policy_set.lint_catalog, str(policy_set.origin))

    def evaluate(self, document: Mapping[str, Any]) -> LintDecision:
        """The decision on one lint input document; an engine failure fails the file."""
        try:
            raw = self.engine.query(document, Scope.DOCKERFILE)
        except EngineError as exc:
            return LintDecision.from_error(exc, engine=self.engine.name)
        return LintDecision.from_rego(raw, engine=self.engine.name)

    def lint_file(self, path: Path) -> LintResult:
        try:
            document: LintInput = parse_file(path)
        except GateError as exc:
            return LintResult(str(path), LintDecision.from_error(exc, engine=self.engine.name))
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


def lint_paths(paths: Iterable[Path], linter: Linter) -> list[LintResult]:
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
