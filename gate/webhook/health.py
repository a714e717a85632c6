"""``/healthz`` (the process answers) and ``/readyz`` (policies loaded, engine deciding).

Readiness evaluates a fixed document on the reference policies and needs a decision with
no error: the embedded engine compiled the policies, or the OPA server answers with them
loaded. The probe runs on the evaluation pool (an embedded engine is compiled per thread
that evaluates: a probe on a request thread would compile one more), and the verdict is
kept for a few seconds so probes cost nothing.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from gate.config import Settings
    >>> from gate.policy.engines import create_engine
    >>> readiness = Readiness(create_engine(Settings()), ThreadPoolExecutor(1))
    >>> readiness.check()
    (True, 'policies loaded; engine embedded decides')
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, current_app

from gate.policy.document import build_document
from gate.policy.interface import Engine, Scope
from gate.reference import parse_reference

CANARY = "registry.invalid/gate/readiness:probe"
KEEP_SECONDS = 5.0
PROBE_TIMEOUT = 2.5  # below the probes' timeoutSeconds (3)

blueprint = Blueprint("health", __name__)


class Readiness:
    def __init__(self, engine: Engine, pool: Executor) -> None:
        self.engine, self.pool = engine, pool
        self._verdict: tuple[float, bool, str] | None = None
        self._lock = threading.Lock()

    def check(self) -> tuple[bool, str]:
        with self._lock:
            if self._verdict is not None and time.monotonic() - self._verdict[0] < KEEP_SECONDS:
                return self._verdict[1], self._verdict[2]
        try:
            ready, why = self.pool.submit(self._probe).result(timeout=PROBE_TIMEOUT)
        except FutureTimeout:
            ready, why = False, f"engine {self.engine.name} did not answer in {PROBE_TIMEOUT:g} s"
        with self._lock:
            self._verdict = (time.monotonic(), ready, why)
        return ready, why

    def _probe(self) -> tuple[bool, str]:
        document = build_document(parse_reference(CANARY).to_input(), entry_point="admission")
        decision = self.engine.evaluate(document, Scope.REFERENCE)
        if decision.errors:
            error = decision.errors[0]
            return False, f"engine {self.engine.name} not ready: {error.message} ({error.hint})"
        return True, f"policies loaded; engine {self.engine.name} decides"


@blueprint.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    ready, why = current_app.extensions["gate"].readiness.check()
    return {"status": "ready" if ready else "not ready", "detail": why}, 200 if ready else 503
