"""``/healthz`` (the process answers) and ``/readyz`` (policies loaded, engine deciding).

Readiness evaluates a fixed document on the reference policies and needs a decision with
no error: the embedded engine compiled the policies, or the OPA server answers with them
loaded. The verdict is kept for a few seconds so probes cost nothing.

    >>> readiness = Readiness(create_engine(Settings()))
    >>> readiness.check()
    (True, 'policies loaded; engine embedded decides')
"""

from __future__ import annotations

import threading
import time

from flask import Blueprint, current_app

from gate.policy.document import build_document
from gate.policy.interface import Engine, Scope
from gate.reference import parse_reference

CANARY = "registry.invalid/gate/readiness:probe"
KEEP_SECONDS = 5.0

blueprint = Blueprint("health", __name__)


class Readiness:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._verdict: tuple[float, bool, str] | None = None
        self._lock = threading.Lock()

    def check(self) -> tuple[bool, str]:
        with self._lock:
            if self._verdict is not None and time.monotonic() - self._verdict[0] < KEEP_SECONDS:
                return self._verdict[1], self._verdict[2]
        ready, why = self._probe()
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
