"""The webhook's HTTP errors as JSON ``{"error", "hint", "kind"}``, like the API's.

Errors raised before a view answers (unknown path 404, wrong method 405, body too large 413,
a bug 500) get the same JSON shape as :mod:`gate.api.errors` on every path; ``/v1`` paths keep
the API's own hints. Bodies the server refuses before Flask sees them (413 for a chunked
body, 408 for a slow one) have the same shape (:mod:`gate.webhook.bridge`).

    >>> from flask import Flask
    >>> app = Flask("t")
    >>> install(app)
    >>> reply = app.test_client().get("/nothing")
    >>> reply.status_code, sorted(reply.json)
    (404, ['error', 'hint', 'kind'])
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from gate.api import errors as api_errors

HINTS = {
    400: "send an AdmissionReview (admission.k8s.io/v1) as the Kubernetes API server does",
    404: "gate serves POST /validate and /mutate, GET /healthz, /readyz and /metrics, and "
    "the /v1 API",
    405: "/validate and /mutate take POST with an AdmissionReview; the probes take GET",
    408: "send the whole request at once (GATE_BODY_TIMEOUT)",
    413: "an AdmissionReview of one object is far smaller; the limit is GATE_MAX_BODY",
    500: "this is a bug in gate: see its logs",
    503: "too many large request bodies at once (GATE_MAX_BODIES); send the request again",
    505: "speak HTTP/1.1 (over TLS, ALPN http/1.1), as the Kubernetes API server does",
}


def install(app: Flask) -> None:
    """JSON for werkzeug's errors on every path (after the API's, which it replaces)."""
    app.register_error_handler(HTTPException, http_error)
    for code in (404, 405):  # routing errors: the API registered these codes for /v1
        app.register_error_handler(code, http_error)


def http_error(exc: HTTPException) -> Response:
    if request.path.startswith("/v1/"):
        return api_errors.http_error(exc)
    status = exc.code or 500
    response = api_errors.error_response(status, exc.name, HINTS.get(status, ""), "http")
    for name, value in exc.get_headers():  # Allow, on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
