"""The API blueprint: ``/openapi.json`` and ``POST /v1/{evaluate,attest,verify}``.

Order of checks for a ``/v1`` call, cheapest and most important first: the API is
enabled (else 404); the bearer token verifies (401) and its caller is allowed (403) --
before the body is read; the body is JSON (415/400), within ``GATE_API_MAX_BODY``
(413) and matches the request schema (400); for ``attest`` the caller may use that
attestor (403); the caller and the worker have a free slot (429); the work finishes
within ``GATE_API_TIMEOUT`` (504). Every error is JSON ``{"error", "hint", "kind"}``.
Each call logs one ``gate.api`` line: caller, operation, image, attestor, outcome.

:func:`install` adds the API to gate's app (``create_app`` calls it). The API shares the
process with the admission webhook, not its caches, pool or budget: it gathers fresh
facts for every call and runs on its own limited pool. ``GATE_API_ONLY`` turns
admission off (404) where gate runs only as the signing service (Cloud Run).

    >>> from gate.config import Settings
    >>> from gate.webhook.app import create_app
    >>> client = create_app(Settings()).test_client()
    >>> client.post("/v1/evaluate", json={"image": "gcr.io/p/a"}).status_code   # API off
    404
    >>> client.get("/openapi.json").json["openapi"]
    '3.1.0'
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from gate.api import errors
from gate.api.auth import Forbidden
from gate.api.errors import NotEnabled, UnsupportedMedia
from gate.api.schema import InvalidBody, document, validate
from gate.api.state import ApiState, build_state
from gate.config import Settings
from gate.facts.interface import FactSource
from gate.policy.interface import Engine

log = logging.getLogger("gate.api")
blueprint = Blueprint("api", __name__)
errors.register(blueprint)
API_ONLY_PATHS = ("/v1/", "/openapi.json", "/healthz", "/readyz", "/metrics")


def install(app: Flask, settings: Settings, *, engine: Engine, facts: FactSource) -> None:
    """Add the API to ``app`` (its state in ``app.extensions["gate.api"]``)."""
    webhook = app.extensions.get("gate")
    registry = webhook.metrics.registry if webhook is not None else None
    app.extensions["gate.api"] = build_state(
        settings, engine=engine, facts=facts, registry=registry
    )
    app.register_blueprint(blueprint)
    errors.register_app(app)
    if settings.api.only:
        app.before_request(_api_only)


def _api_only() -> None:
    if not request.path.startswith(API_ONLY_PATHS):
        abort(404)


def api_state() -> ApiState:
    state: ApiState = current_app.extensions["gate.api"]
    return state


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return Response(json.dumps(document()), mimetype="application/json")


@blueprint.before_request
def authenticate() -> None:
    if not request.path.startswith("/v1/"):
        return
    state = api_state()
    if state.verifier is None:
        raise NotEnabled(
            "the signing API is not enabled on this server",
            hint="set GATE_API_AUDIENCE and GATE_API_CALLERS (docs/api.md)",
        )
    request.max_content_length = state.settings.max_body + 1  # see _json_body
    caller = state.verifier.caller(request.headers.get("Authorization"))
    state.access.check_caller(caller.email)
    g.gate_caller = caller


@blueprint.post("/v1/evaluate")
def evaluate() -> tuple[Response, int]:
    return _run("evaluate", "EvaluateRequest", lambda s, body: s.operations.evaluate(body))


@blueprint.post("/v1/attest")
def attest() -> tuple[Response, int]:
    def work(state: ApiState, body: Mapping[str, Any]) -> dict[str, Any]:
        return state.operations.attest(body)

    return _run("attest", "AttestRequest", work, check_attestor=True)


@blueprint.post("/v1/verify")
def verify() -> tuple[Response, int]:
    return _run("verify", "VerifyRequest", lambda s, body: s.operations.verify(body))


def _run(
    operation: str,
    schema: str,
    work: Callable[[ApiState, Mapping[str, Any]], dict[str, Any]],
    *,
    check_attestor: bool = False,
) -> tuple[Response, int]:
    state, caller = api_state(), g.gate_caller
    body = validate(schema, _json_body())
    attestor = str(body.get("attestor", ""))
    if check_attestor:
        state.access.check_attestor(caller.email, attestor)
    elif attestor and not state.access.offers(attestor):
        raise Forbidden(
            f"attestor {attestor} is not one gate offers",
            hint="use an attestor listed in GATE_API_ATTESTORS",
        )
    started = time.monotonic()
    result = state.limiter.run(
        caller.email, lambda: work(state, body), timeout=state.settings.timeout
    )
    outcome = _outcome(result)
    state.metrics.done(operation, outcome, time.monotonic() - started)
    fields = {"caller": caller.email, "operation": operation, "image": body["image"],
              "attestor": attestor, "outcome": outcome}  # fmt: skip
    log.info("api %s: %s", operation, outcome, extra={"fields": fields})  # image: a field
    return Response(json.dumps(result), mimetype="application/json"), 200


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMedia(
            f"the body is {request.mimetype or 'untyped'}, not JSON",
            hint="send Content-Type: application/json",
        )
    data = request.get_data(cache=True)  # 413 when Content-Length is over the limit
    if len(data) > api_state().settings.max_body:  # a chunked body stops at limit + 1
        raise RequestEntityTooLarge()
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidBody(
            "the request body is not JSON",
            hint="send a JSON object (see /openapi.json)",
            problems=[{"path": "/", "message": str(exc)[:300]}],
        ) from exc


def _outcome(result: Mapping[str, Any]) -> str:
    """One word for logs and metrics: allowed/denied, verified/unverified, or a status."""
    if "verified" in result:
        return "verified" if result["verified"] else "unverified"
    if "exit_code" in result:
        statuses = [r["status"] for r in result.get("results", [])]
        return statuses[0] if len(statuses) == 1 else "mixed"
    errored = any(r.get("errors") for r in result.get("results", []))
    return "allowed" if result.get("allowed") else "errored" if errored else "denied"
