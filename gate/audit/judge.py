"""Judge every workload as admission would, with fresh facts.

Each running image goes through the webhook's :class:`~gate.webhook.evaluator.ImageEvaluator`
(the pool bounds how many images are judged at once, so how many requests go to
registries and Artifact Analysis; the facts of one reference are gathered once per run
and shared by every workload that runs it) with the input document admission builds:
``entry_point: admission``, the workload's kind, name, annotations and container, and
operation ``UPDATE`` (the object exists; it is judged as the update that would admit it
again), so a policy decides alike at admission and in the audit. When the spec names a
tag and the runtime reported the digest it pulled, gate judges ``name:tag@digest`` and
adds the reference policies' verdict on the spec as written (a tag-only spec still
breaks the digest policy).

Every finding then gets its mode as at admission (:class:`~gate.webhook.modes.ModeTable`;
break-glass turns every one into ``audit``), and the workload its :class:`Verdict`:
``violating`` (at least one violation, whatever its mode), ``error`` (something could not
be judged), else ``compliant``; ``admission`` says whether admission would deny it today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gate.audit.inventory import Workload
from gate.audit.running import RunningImage
from gate.evaluate import reference_decision
from gate.policy.interface import Decision, Engine, Finding
from gate.reference import parse_reference
from gate.webhook.evaluator import ImageEvaluator, ImageResult
from gate.webhook.modes import Mode, ModeTable
from gate.webhook.outcome import decide
from gate.webhook.workloads import Container, break_glass, workload_input

OPERATION = "UPDATE"
ENTRY_POINT = "admission"


@dataclass(frozen=True)
class AuditFinding:
    """A violation (``violation``) or a policy warning, where it is, and its mode."""

    finding: Finding  # as the policy reported it
    mode: str  # enforce | warn | audit: the mode it has at admission
    violation: bool
    container: str
    container_kind: str
    image: str  # the reference judged
    digest: str

    @property
    def policy_id(self) -> str:
        return self.finding.policy_id

    @property
    def text(self) -> str:
        """What is wrong and how to fix it, as admission's message says it."""
        f = self.finding
        return f"{f.title}: {f.message}" + (f" (fix: {f.remediation})" if f.remediation else "")

    @property
    def result(self) -> str:
        """The PolicyReport result: a warn-mode violation or a policy warning warns."""
        return "fail" if self.violation and self.mode != Mode.WARN.value else "warn"


@dataclass(frozen=True)
class AuditError:
    kind: str
    message: str
    hint: str
    container: str
    image: str


@dataclass(frozen=True)
class Judged:
    """One running image of a workload and its decision."""

    image: RunningImage
    digest: str  # the digest judged ("" when none could be resolved)
    decision: Decision  # with the spec's reference verdict when another reference was judged
    evaluated: Decision  # the decision on the reference judged, as the evaluator returned it


@dataclass(frozen=True)
class Verdict:
    workload: Workload
    judged: tuple[Judged, ...]
    findings: tuple[AuditFinding, ...]
    errors: tuple[AuditError, ...]
    break_glass: bool
    admission: str  # allow | deny: what admission would answer today

    @property
    def status(self) -> str:
        if any(f.violation for f in self.findings):
            return "violating"
        return "error" if self.errors else "compliant"

    @property
    def policies(self) -> tuple[str, ...]:
        """The ids of the policies the workload violates."""
        return tuple(sorted({f.policy_id for f in self.findings if f.violation}))


class Judge:
    def __init__(
        self,
        engine: Engine,
        evaluator: ImageEvaluator,
        modes: ModeTable,
        *,
        honour_break_glass: bool = True,
        fail_open: bool = False,
    ) -> None:
        self.engine, self.evaluator, self.modes = engine, evaluator, modes
        self.honour_break_glass, self.fail_open = honour_break_glass, fail_open

    def judge(self, workloads: Sequence[Workload], deadline: float) -> list[Verdict]:
        """One verdict per workload; every image judged before ``deadline`` (monotonic)."""
        now = datetime.now(UTC)
        items: list[tuple[Container, Mapping[str, Any]]] = []
        for workload in workloads:
            items += [(_judged_container(i), _input(workload, i)) for i in workload.images]
        results = self.evaluator.evaluate(items, deadline) if items else []
        by_container = {id(c): r for r in results for c in r.containers}
        verdicts, index = [], 0
        for workload in workloads:
            mine = [by_container[id(c)] for c, _ in items[index : index + len(workload.images)]]
            index += len(workload.images)
            verdicts.append(self._verdict(workload, mine, now))
        return verdicts

    def _verdict(
        self, workload: Workload, results: Sequence[ImageResult], now: datetime
    ) -> Verdict:
        broken = self.honour_break_glass and break_glass(workload.obj)
        judged = tuple(
            Judged(
                image,
                result.digest,
                self._with_spec(workload, image, result.decision, now),
                result.decision,
            )
            for image, result in zip(workload.images, results, strict=True)
        )
        findings = tuple(f for j in judged for f in self._findings(workload, j, broken))
        errors = tuple(e for j in judged for e in _errors(j))
        if workload.problem is not None:
            problem = workload.problem
            errors += (AuditError("invalid", problem.message, problem.hint, "", ""),)
        outcome = decide(
            [replace(r, decision=j.decision) for r, j in zip(results, judged, strict=True)],
            namespace=workload.ref.namespace,
            modes=self.modes,
            fail_open=self.fail_open,
            break_glass=broken,
        )
        denies = not outcome.allowed or workload.problem is not None
        return Verdict(workload, judged, findings, errors, broken, "deny" if denies else "allow")

    def _with_spec(
        self, workload: Workload, image: RunningImage, decision: Decision, now: datetime
    ) -> Decision:
        """``decision`` plus the reference policies' verdict on the spec as written, when
        gate judged another reference (the spec's tag with the runtime's digest)."""
        if image.reference == image.container.image:
            return decision
        spec = reference_decision(
            self.engine,
            parse_reference(image.container.image),
            entry_point=ENTRY_POINT,
            workload=_input(workload, image),
            now=now,
        )
        seen = {v.policy_id for v in decision.violations}
        extra = tuple(v for v in spec.violations if v.policy_id not in seen)
        if not extra:
            return decision
        violations = tuple(sorted(decision.violations + extra, key=Finding.sort_key))
        return replace(decision, allowed=False, violations=violations)

    def _findings(self, workload: Workload, judged: Judged, broken: bool) -> list[AuditFinding]:
        namespace, container = workload.ref.namespace, judged.image.container
        found = []
        for violation, finding in [(True, v) for v in judged.decision.violations] + [
            (False, w) for w in judged.decision.warnings
        ]:
            mode = self.modes.for_policy(namespace, finding.policy_id, finding.policy)
            if not violation and mode is not Mode.AUDIT:
                mode = Mode.WARN
            found.append(
                AuditFinding(
                    finding=finding,
                    mode=(Mode.AUDIT if broken else mode).value,
                    violation=violation,
                    container=container.name,
                    container_kind=container.kind,
                    image=judged.image.reference,
                    digest=judged.digest,
                )
            )
        return found


def _errors(judged: Judged) -> list[AuditError]:
    container = judged.image.container.name
    return [
        AuditError(e.kind, e.message, e.hint, container, judged.image.reference)
        for e in judged.decision.errors
    ]


def _judged_container(image: RunningImage) -> Container:
    """The container as the evaluator sees it: its image is the reference judged. A new
    object per item, so each result is found again by the identity of its containers."""
    c = image.container
    return Container(c.name, c.kind, image.reference, c.security_context, c.path)


def _input(workload: Workload, image: RunningImage) -> dict[str, Any]:
    ref = workload.ref
    return workload_input(
        ref.namespace, ref.kind, ref.name, OPERATION, workload.obj, image.container
    )
