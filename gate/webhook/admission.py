"""``POST /validate``: the validating admission webhook.

Order of business for one review: parse it (HTTP 400, or a deny review, when malformed);
answer DELETE, CONNECT, other kinds and other subresources at once (allowed); admit exempt
namespaces; read every container (a malformed object is denied); evaluate each distinct
image within the time budget; apply the modes and break-glass; log one decision line;
answer in the AdmissionReview version received. ``dryRun`` requests are evaluated the
same way: gate has no side effects on any request.

    >>> from gate.config import Settings
    >>> from gate.webhook.app import create_app
    >>> client = create_app(Settings()).test_client()
    >>> client.post("/validate", data=b"{}").status_code
    400
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, request

from gate.errors import InputError
from gate.webhook.asgi import arrival
from gate.webhook.evaluator import ImageResult
from gate.webhook.logging import log_decision
from gate.webhook.outcome import Outcome, decide
from gate.webhook.review import InvalidRequest, Review, ReviewError, parse_review, respond
from gate.webhook.state import WebhookState
from gate.webhook.workloads import break_glass, containers_of

log = logging.getLogger(__name__)
blueprint = Blueprint("admission", __name__)


@blueprint.post("/validate")
def validate() -> tuple[dict[str, Any], int]:
    state: WebhookState = current_app.extensions["gate"]
    started = arrival(request.environ)  # a wait for a thread counts against the budget
    try:
        review = parse_review(request.get_data(cache=False))
    except ReviewError as exc:
        state.metrics.invalid.inc()
        log.warning("refused a body: %s", exc.message)
        return {"error": exc.message, "hint": exc.hint}, 400
    except InvalidRequest as exc:
        message = f"gate cannot read this AdmissionReview: {exc.message} (hint: {exc.hint})"
        return respond(exc.api_version, exc.uid, allowed=False, code=400, message=message), 200
    results: list[ImageResult] = []
    try:
        outcome, results = admit(state, review, started)
    except Exception:  # a bug denies with a review, never a bare 500, never an allow
        log.exception("admission of %s failed", review.uid)
        outcome = Outcome(False, "error", "gate failed to decide (internal error): see its logs")
    seconds = time.monotonic() - started
    _observe(state, review, outcome, seconds)
    if outcome.route != "skipped":
        log_decision(review, outcome, results, seconds)
    code = 400 if outcome.route == "invalid" else 403
    body = respond(
        review.api_version,
        review.uid,
        allowed=outcome.allowed,
        code=code,
        message=outcome.message,
        warnings=outcome.warnings,
        annotations=outcome.annotations,
    )
    return body, 200


def admit(state: WebhookState, review: Review, started: float) -> tuple[Outcome, list[ImageResult]]:
    """The outcome of one parsed review, and the image results behind it."""
    if review.operation not in ("CREATE", "UPDATE") or not review.pod_bearing:
        return Outcome(True, "skipped"), []
    if review.namespace in state.exempt:
        return Outcome(True, "exempt", annotations={"decision": "allow", "mode": "exempt"}), []
    try:
        obj = _object(review)
        containers = list(containers_of(obj))
        if not containers:
            raise InputError("it has no container", hint="a pod spec lists at least one container")
    except InputError as exc:
        message = f"gate cannot read the {review.kind}: {exc.message}" + (
            f" (hint: {exc.hint})" if exc.hint else ""
        )
        return Outcome(False, "invalid", message), []
    settings = state.settings.webhook
    broken = settings.break_glass and break_glass(obj)
    items = [(c, review.workload(obj, c)) for c in containers]
    results = state.evaluator.evaluate(items, started + settings.budget)
    outcome = decide(
        results,
        namespace=review.namespace,
        modes=state.modes,
        fail_open=settings.fail_open,
        break_glass=broken,
    )
    return outcome, results


def _object(review: Review) -> Mapping[str, Any]:
    obj = review.obj
    if obj is None:
        raise InputError(f"{review.operation} without request.object", hint="send the object")
    kind = obj.get("kind")
    if kind is None:
        return {**obj, "kind": review.kind}
    if kind != review.kind:
        raise InputError(f"request.kind is {review.kind} but the object is a {str(kind)[:40]}")
    return obj


def _observe(state: WebhookState, review: Review, outcome: Outcome, seconds: float) -> None:
    kind = review.kind if review.pod_bearing else "other"
    result = "allowed" if outcome.allowed else "denied"
    state.metrics.review(
        result=result, mode=outcome.route, kind=kind, dry_run=review.dry_run, seconds=seconds
    )
    for item in outcome.items:
        if not item.code.startswith("error:"):
            state.metrics.violation(item.code, item.mode.value)
