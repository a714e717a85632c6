"""The embedded engine: regorus (Microsoft's Rust Rego engine) in-process.

Builtin errors are strict (an error, never a silent undefined). A regorus engine
evaluates on one thread at a time, so each thread has its own, and a threaded server
evaluates without locks; with gate's own binding (gate.policy.interpreter) the threads
evaluate at the same time, on every core, on copies of one compiled engine per scope
(regorus's own binding cannot copy across threads: each thread compiles its own).
When the policy source changes, the next evaluation in each thread picks up the new set.

    >>> from gate.policy.loader import default_policy_dir
    >>> engine = EmbeddedEngine(PolicySource(default_policy_dir()))
    >>> engine.name
    'embedded'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import regorus

from gate.facts.interface import ImageFacts
from gate.policy.converted import ConvertedFacts
from gate.policy.interface import (
    DECISION_PACKAGE,
    EVALUATION_HINT,
    FETCHABLE_RULE,
    IMAGE_SCOPES,
    Engine,
    EngineError,
    EvaluationTimedOut,
    Scope,
    fetchable_patterns,
)
from gate.policy.interpreter import (
    InputError,
    Interpreter,
    TimeLimitError,
    new_interpreter,
    resolve_binding,
)
from gate.policy.loader import POLICY_PREFIX, PolicyModule, PolicySet
from gate.policy.source import PolicySource

log = logging.getLogger(__name__)
LINT_PREFIX = "gate.dockerfile."
COMPILE_ONLY_RULE = "__compile_only__"  # no policy defines it: evaluating it only compiles

# regorus creates (and drops) internal errors during ordinary evaluation, e.g. for every
# reference it cannot read as a static path, and with RUST_BACKTRACE set (CI, debugging
# shells) each one captures a stack backtrace: a third of a decision's CPU. Library
# backtraces only end up in error texts, which rego_error_text cuts off anyway; panics
# still print theirs. Rust reads the variable once, at the first capture in the process,
# so this runs at import, before any evaluation. An explicit setting is kept.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


def rego_error_text(exc: BaseException) -> str:
    """regorus errors carry a Rust backtrace; keep the part a person can read."""
    return str(exc).split("Stack backtrace:")[0].strip()


def build_regorus(
    policy_set: PolicySet,
    *,
    include_tests: bool = False,
    modules: Sequence[PolicyModule] | None = None,
) -> Any:
    """A regorus engine (regorus's own binding, for the Rego tests and the benchmarks) with
    the data of ``policy_set`` and its modules (or ``modules``)."""
    if modules is None:
        modules = policy_set.modules if include_tests else policy_set.policy_modules
    return _loaded(regorus.Engine(), policy_set, modules)


def build_interpreter(
    policy_set: PolicySet, modules: Sequence[PolicyModule], binding: str = "auto"
) -> Interpreter:
    """An interpreter on ``binding`` with the data of ``policy_set`` and ``modules``."""
    interpreter: Interpreter = _loaded(new_interpreter(binding), policy_set, modules)
    return interpreter


def _loaded(engine: Any, policy_set: PolicySet, modules: Sequence[PolicyModule]) -> Any:
    """``engine`` with ``modules`` and the policy set's data added; EngineError when refused."""
    for module in modules:
        try:
            engine.add_policy(module.path, module.source)
        except (RuntimeError, ValueError) as exc:
            raise EngineError(
                f"policy {module.path} does not compile: {rego_error_text(exc)}",
                hint="run `opa check --strict` on the policy folder",
            ) from exc
    try:
        engine.add_data(policy_set.data)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise EngineError(f"policy data rejected: {rego_error_text(exc)}") from exc
    return engine


def decision_modules(policy_set: PolicySet, scope: Scope) -> tuple[PolicyModule, ...]:
    """The modules a decision of ``scope`` needs.

    regorus evaluates every package under ``data.gate.policies`` when ``gate.main`` looks
    one up by name (as the reference decision does), so an engine for the reference
    decision leaves the image policies out (it never reads them), neither loads the
    Dockerfile policies, and the Dockerfile engine loads no image policy. OPA, with
    everything loaded, returns the same decisions: the parity test checks it.
    """

    def needed(module: PolicyModule) -> bool:
        lint = module.package.startswith(LINT_PREFIX)
        if scope is Scope.DOCKERFILE:  # the Dockerfile policies and the libraries
            image = module.package == DECISION_PACKAGE or module.package.startswith(POLICY_PREFIX)
            return lint or not image
        if lint:
            return False
        info = policy_set.catalog.get(module.package.removeprefix(POLICY_PREFIX))
        return scope is Scope.FULL or info is None or info.scope == "reference"

    return tuple(m for m in policy_set.policy_modules if needed(m))


def first_value(result_json: str) -> Any:
    """The value of a query's first expression, or None when the query is undefined."""
    results = json.loads(result_json).get("result") or []
    if not results:
        return None
    return results[0]["expressions"][0]["value"]


class EmbeddedEngine(Engine):
    name = "embedded"

    def __init__(self, source: PolicySource, binding: str = "auto") -> None:
        self._source = source
        self.binding = resolve_binding(binding)  # gate_regorus or regorus
        self.stops_at_deadline = self.binding == "gate_regorus"  # regorus's own has no timer
        self._lock = threading.Lock()
        self._local = threading.local()
        policy_set = source.current()
        fingerprint = policy_set.fingerprint
        # The set's engines compiled once and evaluated once, never evaluated with again:
        # each thread evaluates on copies of them, which share their compiled policies.
        self._prototypes = (fingerprint, self._scope_engines(policy_set))
        self._local.engines = (fingerprint, self._copies(policy_set, fingerprint))
        # (set, fingerprint) pairs, each replaced as a whole. A fingerprint hashes every
        # module and the data (about a millisecond), so it is computed once per set
        # object, not once per query: the source hands out the same object until it reloads.
        self._good: tuple[PolicySet, str] = (policy_set, fingerprint)
        self._rejected: tuple[PolicySet | None, str] = (None, "")
        self._fetchable: tuple[str, tuple[str, ...]] = ("", ())  # fingerprint, patterns
        self._converted = ConvertedFacts() if self.binding == "gate_regorus" else None

    def image_facts(self, facts: ImageFacts) -> Mapping[str, Any]:
        """With gate_regorus, ``facts``' parts converted once for as long as the object lives."""
        if self._converted is None:
            return super().image_facts(facts)
        return self._converted.parts(facts)

    def prepare(self) -> PolicySet:
        """The policy set in force: the source's, once it compiled; else the last good one."""
        return self._prepare()[0]

    def _prepare(self) -> tuple[PolicySet, str]:
        """The policy set in force and its fingerprint."""
        latest = self._source.current()
        good = self._good
        if latest is good[0] or latest is self._rejected[0]:
            return good
        with self._lock:
            good = self._good
            if latest is good[0] or latest is self._rejected[0]:
                return good
            fingerprint = latest.fingerprint
            if fingerprint == good[1]:
                # Reloaded with the same content: the compiled engines stay valid.
                self._good = (latest, fingerprint)
                return self._good
            if fingerprint == self._rejected[1]:
                self._rejected = (latest, fingerprint)
                return good
            try:
                self._prototypes = (fingerprint, self._scope_engines(latest))
            except EngineError as exc:
                log.error("changed policies do not compile, keeping the previous set: %s", exc)
                self._rejected = (latest, fingerprint)
                return good
            self._good = (latest, fingerprint)
            return self._good

    def query(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Any:
        _, engines = self._thread_engines()
        engine = engines.get(scope)
        if engine is None:  # the Dockerfile policies: compiled on first use (gate lint)
            policy_set = self.prepare()
            engine = build_interpreter(
                policy_set, decision_modules(policy_set, scope), self.binding
            )
            engines[scope] = engine
        return _evaluate(engine, document, scope.value, deadline)

    def fetchable(self) -> tuple[str, ...]:
        """``data.gate.main.fetchable``, evaluated once per policy set (it reads only data)."""
        fingerprint, engines = self._thread_engines()
        cached = self._fetchable
        if cached[0] == fingerprint:
            return cached[1]
        # The reference engine holds gate.main and the registry policy the rule reads.
        rule = f"{DECISION_PACKAGE}.{FETCHABLE_RULE}"
        patterns = fetchable_patterns(_evaluate(engines[Scope.REFERENCE], {}, rule))
        self._fetchable = (fingerprint, patterns)
        return patterns

    def _scope_engines(self, policy_set: PolicySet) -> dict[Scope, Interpreter]:
        """The image scopes' interpreters, compiled now (a set that does not compile fails
        early). Each is asked for a rule that does not exist: regorus finishes compiling
        the policies before it finds that out, so copies of them need not compile again."""
        engines = {
            scope: build_interpreter(policy_set, decision_modules(policy_set, scope), self.binding)
            for scope in IMAGE_SCOPES
        }
        for engine in engines.values():
            with contextlib.suppress(RuntimeError, ValueError, TypeError, InputError):
                engine.evaluate(f"data.{DECISION_PACKAGE}.{COMPILE_ONLY_RULE}", {})
        return engines

    def _copies(self, policy_set: PolicySet, fingerprint: str) -> dict[Scope, Interpreter]:
        """Engines for this thread: copies of the set's prototypes (about 3 MB and 15 ms
        less per thread than compiling the policies again), or engines compiled here when
        the binding's may not cross threads (regorus's own) or the set just changed."""
        prototypes = self._prototypes
        if prototypes[0] == fingerprint:
            copies = {scope: engine.copy() for scope, engine in prototypes[1].items()}
            if all(copy is not None for copy in copies.values()):
                return {scope: copy for scope, copy in copies.items() if copy is not None}
        return self._scope_engines(policy_set)

    def _thread_engines(self) -> tuple[str, dict[Scope, Any]]:
        """This thread's engines and their set's fingerprint: a regorus engine evaluates
        on one thread at a time, so each thread has its own."""
        policy_set, fingerprint = self._prepare()
        cached: tuple[str, dict[Scope, Any]] | None = getattr(self._local, "engines", None)
        if cached is None or cached[0] != fingerprint:
            cached = (fingerprint, self._copies(policy_set, fingerprint))
            self._local.engines = cached
        return cached


def _evaluate(
    engine: Interpreter, document: Mapping[str, Any], rule: str, deadline: float | None = None
) -> Any:
    """``data.<rule>`` on ``document``, stopped at ``deadline`` (monotonic) when one is
    given; every regorus failure is an EngineError."""
    seconds = None if deadline is None else deadline - time.monotonic()
    try:
        if seconds is not None and seconds <= 0:
            raise TimeLimitError("no time was left to evaluate")
        return engine.evaluate(f"data.{rule}", document, seconds)
    except TimeLimitError as exc:
        raise EvaluationTimedOut(
            f"the policies did not decide within the time budget: {rego_error_text(exc)}",
            hint="an image with very large facts (findings, environment, history) or a "
            "policy that loops over a lot of them; see gate's logs",
        ) from exc
    except InputError as exc:
        raise EngineError(
            f"the input document is not valid JSON: {exc}",
            hint="a scan report or review carried a value JSON has no form for (NaN, Infinity)",
        ) from exc
    except (RuntimeError, ValueError, TypeError) as exc:
        raise EngineError(
            f"policy evaluation failed: {rego_error_text(exc)}",
            hint=EVALUATION_HINT,
        ) from exc
