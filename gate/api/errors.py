"""Every API failure as JSON ``{"error", "hint", "kind"}`` with the right HTTP status.

A :class:`~gate.errors.GateError` maps by class, then by ``kind``; anything else from
Google APIs or the registry is a 502 (nothing was done). Werkzeug's own errors on
``/v1`` paths (unknown path 404, wrong method 405, body too large 413) are JSON too;
on other paths (admission, health) they are left to the app: the webhook's app answers them
with the same JSON and hints of its own (:mod:`gate.webhook.errors`).

    >>> from flask import Flask
    >>> app = Flask("t")
    >>> register_app(app)
    >>> reply = app.test_client().get("/v1/nothing")
    >>> reply.status_code, reply.json["kind"]
    (404, 'http')
    >>> app.test_client().get("/elsewhere").is_json
    False
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from gate.api.auth import Forbidden, Unauthenticated
from gate.api.jwks import JwksUnavailable
from gate.api.limits import TimedOut, TooBusy
from gate.api.schema import InvalidBody
from gate.errors import GateError

log = logging.getLogger("gate.api")
STATUS: tuple[tuple[type[GateError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (InvalidBody, 400),
    (TooBusy, 429),
    (JwksUnavailable, 503),
    (TimedOut, 504),
)
BY_KIND = {"request": 400, "reference": 400, "not-enabled": 404, "media-type": 415}
JWKS_RETRY_AFTER = 30
HINTS = {
    404: "the API is POST /v1/evaluate, /v1/attest and /v1/verify (see /openapi.json)",
    405: "the /v1 operations take POST with a JSON body",
    413: "the body is larger than GATE_API_MAX_BODY: send only the fields in /openapi.json",
}


class NotEnabled(GateError):
    kind = "not-enabled"


class UnsupportedMedia(GateError):
    kind = "media-type"


def register(blueprint: Blueprint) -> None:
    """Handlers for errors raised in the API's own views."""
    blueprint.register_error_handler(GateError, gate_error)
    blueprint.register_error_handler(HTTPException, http_error)
    blueprint.register_error_handler(Exception, unexpected)


def register_app(app: Flask) -> None:
    """Routing errors (404, 405) happen before a blueprint is chosen: JSON on /v1 only."""
    for code in (404, 405):
        app.register_error_handler(code, routing_error)


def routing_error(exc: HTTPException) -> Any:
    if not request.path.startswith("/v1/"):
        return exc  # admission and health keep werkzeug's answer
    return http_error(exc)


def gate_error(exc: GateError) -> Response:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), None)
    status = status or BY_KIND.get(exc.kind, 502)
    if status >= 500 or status == 403:
        log.warning("api %s refused (%d): %s", request.path, status, exc.message)
    extra = {"problems": exc.problems} if isinstance(exc, InvalidBody) else {}
    response = error_response(status, exc.message, exc.hint, exc.kind, **extra)
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="gate", error="invalid_token"'
    if isinstance(exc, TooBusy):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, JwksUnavailable):
        response.headers["Retry-After"] = str(JWKS_RETRY_AFTER)
    state = current_app.extensions.get("gate.api")
    if state is not None and status in (401, 403, 429, 503):
        state.metrics.refused(status)
    return response


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    response = error_response(status, exc.name, HINTS.get(status, ""), "http")
    for name, value in exc.get_headers():  # Allow, on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception("api %s failed", request.path)
    return error_response(500, "internal error", "this is a bug in gate: see its logs", "bug")


def error_response(status: int, message: str, hint: str, kind: str, **extra: Any) -> Response:
    body = {"error": message, "hint": hint, "kind": kind, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/json")
