"""The engine contract: one method, frozen results, one error family.

Every engine (embedded regorus, a real OPA server) takes an input document and
returns a :class:`Decision`. An engine failure or an undefined result never allows:
:func:`Decision.from_error` builds the fail-closed decision.

    >>> d = Decision.from_error(EngineError("OPA unreachable", hint="is opa running?"), "eval")
    >>> d.allowed, d.errors[0].message
    (False, 'OPA unreachable')
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gate.errors import GateError
from gate.facts.interface import ImageFacts
from gate.policy.document import facts_input


class EngineError(GateError):
    """The engine could not produce a decision (parse error, builtin error, transport)."""

    kind = "engine"


class EvaluationTimedOut(EngineError):
    """The policies did not decide before the deadline the evaluation was given."""

    kind = "timeout"


DECISION_PACKAGE = "gate.main"
LINT_PACKAGE = "gate.dockerfile.main"
# data.gate.main.fetchable: the registry/repository patterns gate may contact.
FETCHABLE_RULE = "fetchable"
EVALUATION_HINT = "a builtin error or conflicting rule outputs; run `gate test` on the policies"


class Scope(enum.Enum):
    """Which policies to evaluate: the value is the rule (under ``data``) that decides.

    ``REFERENCE`` runs only the policies that read the image reference: they decide
    before any network call whether gate may contact the image's registry at all.
    ``FULL`` runs every image policy; ``DOCKERFILE`` the Dockerfile policies (gate lint),
    on a lint input document.
    """

    REFERENCE = f"{DECISION_PACKAGE}.reference_decision"
    FULL = f"{DECISION_PACKAGE}.decision"
    DOCKERFILE = f"{LINT_PACKAGE}.decision"

    @property
    def package(self) -> str:
        return self.value.rpartition(".")[0]

    @property
    def rule(self) -> str:
        return self.value.rpartition(".")[2]


IMAGE_SCOPES = (Scope.REFERENCE, Scope.FULL)


@dataclass(frozen=True)
class PolicyResult:
    """What every policy result says, about an image or a Dockerfile."""

    policy_id: str
    policy: str
    severity: str
    title: str
    message: str
    remediation: str


@dataclass(frozen=True)
class Finding(PolicyResult):
    """One image policy result: a violation, a warning or an exempted violation.

    ``findings`` holds the scan findings a result is about, when a policy lists them
    (GATE-IMG-002 gives one violation per threshold broken: its message names the first
    five, ``findings`` every one). They are not part of a finding's hash.
    """

    image: str = ""
    platform: str = ""
    container: str = ""
    reason: str = ""  # exemption reason, for exempted findings only
    findings: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)

    @classmethod
    def from_rego(cls, raw: Mapping[str, Any]) -> Finding:
        return cls(
            **policy_fields(raw),
            image=str(raw.get("image", "") or ""),
            platform=str(raw.get("platform", "") or ""),
            container=str(raw.get("container", "") or ""),
            reason=str(raw.get("reason", "") or ""),
            findings=tuple(dict(item) for item in rego_items(raw.get("findings"))),
        )

    def sort_key(self) -> tuple[str, ...]:
        return (self.policy_id, self.image, self.platform, self.container, self.message)


def policy_fields(raw: Mapping[str, Any]) -> dict[str, str]:
    """The :class:`PolicyResult` fields of a Rego finding (its keys ``id`` and ``msg``
    renamed ``policy_id`` and ``message``)."""
    return {
        "policy_id": str(raw.get("id", "")),
        "policy": str(raw.get("policy", "")),
        "severity": str(raw.get("severity", "")),
        "title": str(raw.get("title", "")),
        "message": str(raw.get("msg", "")),
        "remediation": str(raw.get("remediation", "")),
    }


def rego_items(raw: Any) -> list[Mapping[str, Any]]:
    """The objects of a list of findings from Rego (anything else is ignored)."""
    items = raw if isinstance(raw, list) else []
    return [item for item in items if isinstance(item, Mapping)]


def decision_object(raw: Any, scope: Scope) -> Mapping[str, Any]:
    """``raw`` if it has the documented decision shape; EngineError (denies) otherwise."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("allowed"), bool):
        raise EngineError(
            "the policy set returned no decision (undefined or malformed result)",
            hint=f"check that the policies define data.{scope.value}",
        )
    return raw


@dataclass(frozen=True)
class ErrorRecord:
    kind: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Decision:
    """What the policies decided about one input document.

    ``allowed`` is true only when there is no violation and no error: a denial and an
    error are kept apart, and both deny.
    """

    allowed: bool
    violations: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    exempted: tuple[Finding, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    entry_point: str = ""
    engine: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rego(cls, raw: Any, *, entry_point: str, engine: str) -> Decision:
        """Build a decision from the ``data.gate.main`` decision object.

        Anything that is not the documented shape is an engine error, and denies.
        """
        try:
            raw = decision_object(raw, Scope.FULL)
        except EngineError as exc:
            return cls.from_error(exc, entry_point, engine=engine)
        violations = _findings(raw.get("violations"))
        return cls(
            allowed=bool(raw["allowed"]) and not violations,
            violations=violations,
            warnings=_findings(raw.get("warnings")),
            exempted=_findings(raw.get("exempted")),
            entry_point=entry_point,
            engine=engine,
        )

    @classmethod
    def from_error(cls, error: GateError, entry_point: str, *, engine: str = "") -> Decision:
        record = ErrorRecord(kind=error.kind, message=error.message, hint=error.hint)
        return cls(allowed=False, errors=(record,), entry_point=entry_point, engine=engine)

    def with_errors(self, *errors: GateError) -> Decision:
        """The same decision with errors added: never allowed afterwards."""
        records = tuple(ErrorRecord(e.kind, e.message, e.hint) for e in errors)
        return Decision(
            allowed=False,
            violations=self.violations,
            warnings=self.warnings,
            exempted=self.exempted,
            errors=self.errors + records,
            entry_point=self.entry_point,
            engine=self.engine,
            extra=self.extra,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fetchable_patterns(raw: Any) -> tuple[str, ...]:
    """The patterns of a ``data.gate.main.fetchable`` result; EngineError for any other shape.

    >>> fetchable_patterns(["*-docker.pkg.dev/**"])
    ('*-docker.pkg.dev/**',)
    """
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise EngineError(
            "the policy set does not say which registries gate may contact "
            f"(data.{DECISION_PACKAGE}.{FETCHABLE_RULE} is {type(raw).__name__}, not a list of "
            "patterns)",
            hint="load gate's policy set (main.rego defines fetchable); gate contacts no "
            "registry until it does",
        )
    return tuple(raw)


def _findings(raw: Any) -> tuple[Finding, ...]:
    return tuple(sorted(map(Finding.from_rego, rego_items(raw)), key=Finding.sort_key))


class Engine(abc.ABC):
    """A Rego engine that has the gate policy set loaded."""

    name: str = "engine"
    # Whether ``query`` stops an evaluation at its deadline: the webhook then evaluates
    # an image whose facts are at hand on the request's own thread (nothing can hold it).
    stops_at_deadline: bool = False

    @abc.abstractmethod
    def query(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Any:
        """Evaluate ``data.gate.main.<scope>`` on ``document`` and return the raw value.

        Raises :class:`EngineError` on any failure (:class:`EvaluationTimedOut` when the
        evaluation is still running at ``deadline``, a ``time.monotonic()`` time, for
        engines that can stop one); returns ``None`` if undefined.
        """

    @abc.abstractmethod
    def fetchable(self) -> tuple[str, ...]:
        """The registry/repository patterns the policy set lets gate fetch facts from.

        ``data.gate.main.fetchable``: the approved registries, plus the patterns of the
        exemptions that lift the registry policy. Asked of the engine once per policy set,
        so that the registry client and the policies share one copy of the rule. Raises
        :class:`EngineError` when the engine cannot answer (gate then contacts nothing).
        """

    def image_facts(self, facts: ImageFacts) -> Mapping[str, Any]:
        """The input document's parts that come from ``facts`` (``image.platforms``,
        ``image.vulnerabilities``, the evidence), as this engine takes them: an engine may
        keep them prepared for its next decision on the same facts object."""
        return facts_input(facts)

    def evaluate(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Decision:
        """Evaluate and build a decision; every failure becomes a denying decision."""
        entry_point = str(document.get("entry_point", ""))
        try:
            raw = self.query(document, scope, deadline=deadline)
        except EngineError as exc:
            return Decision.from_error(exc, entry_point, engine=self.name)
        return Decision.from_rego(raw, entry_point=entry_point, engine=self.name)
