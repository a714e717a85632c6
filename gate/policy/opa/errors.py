"""Every failure of a call to OPA, as an :class:`EngineError` with a hint.

:class:`Calls` runs one client call and translates what it raises: requests' transport
errors (TLS, timeout, connection, a non-JSON answer) and HTTP errors, and the
opa-python-client's own errors (each carries OPA's error code as ``expression``). A
failure to reach OPA or to be let in is :class:`OpaUnavailable`: retrying other calls
is futile then.

    >>> calls = Calls("http://127.0.0.1:8181", timeout=1.0, token_set=False)
    >>> calls.run("evaluate", max, 4, 2)
    4
    >>> calls.run("evaluate", int, "four")
    Traceback (most recent call last):
    ...
    gate.policy.interface.EngineError: cannot evaluate: cannot send the document to OPA: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import requests
from opa_client import errors as client_errors

from gate.policy.interface import EVALUATION_HINT, EngineError

T = TypeVar("T")
# The client's own errors: every exception class its public errors module defines.
CLIENT_ERRORS: tuple[type[Exception], ...] = tuple(
    value
    for value in vars(client_errors).values()
    if isinstance(value, type) and issubclass(value, Exception)
)


class OpaUnavailable(EngineError):
    """OPA cannot be reached or refuses gate (transport, TLS, authentication)."""


class Calls:
    """Runs client calls against the OPA at ``url``; every failure is an EngineError."""

    def __init__(self, url: str, *, timeout: float, token_set: bool) -> None:
        self.url, self.timeout, self.token_set = url, timeout, token_set

    def run(self, what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``call(*args, **kwargs)``, or an EngineError saying it could not ``what``."""
        try:
            return call(*args, **kwargs)
        except requests.exceptions.RequestException as exc:
            self._request_error(what, exc)
        except CLIENT_ERRORS as exc:
            self._client_error(what, exc)
        except (TypeError, ValueError) as exc:
            self._fail(
                what,
                f"cannot send the document to OPA: {exc}",
                "the input or data must be plain JSON",
                exc,
            )

    def _request_error(self, what: str, exc: requests.exceptions.RequestException) -> NoReturn:
        url = self.url
        if isinstance(exc, requests.exceptions.HTTPError):
            self._http_error(what, exc)
        transport: list[tuple[type[Exception], str, str]] = [
            (
                requests.exceptions.SSLError,
                f"TLS handshake with OPA at {url} failed: {exc}",
                "check that OPA serves a certificate for this host and that GATE_OPA_CA_FILE "
                "names the CA that signed it",
            ),
            (
                requests.exceptions.Timeout,
                f"OPA at {url} did not answer within {self.timeout}s",
                "is OPA overloaded or stuck? raise GATE_OPA_TIMEOUT if evaluations are slow",
            ),
            (
                requests.exceptions.ConnectionError,
                f"cannot reach OPA at {url}: {_root_cause(exc)}",
                f"is OPA running at {url}? start it with `opa run --server` or set GATE_OPA_URL",
            ),
            (
                requests.exceptions.JSONDecodeError,
                f"OPA at {url} did not answer with JSON: {exc}",
                f"is {url} an OPA server (and not a proxy or another service)?",
            ),
        ]
        for kind, message, hint in transport:
            if isinstance(exc, kind):
                self._fail(what, message, hint, exc, transport=True)
        self._fail(what, f"request to OPA at {url} failed: {exc}", self.hint(), exc)

    def _http_error(self, what: str, exc: requests.exceptions.HTTPError) -> NoReturn:
        status = exc.response.status_code if exc.response is not None else 0
        code, message = opa_error(exc.response)
        if status in (401, 403):
            refused = f"OPA at {self.url} refused the request ({status} {code}): {message}"
            self._fail(what, refused, self.auth_hint(), exc, transport=True)
        if status >= 500 or code in {"internal_error", "eval_conflict_error"}:
            failed = f"OPA could not evaluate the policies ({code or status}): {message}"
            self._fail(what, failed, EVALUATION_HINT, exc)
        rejected = f"OPA at {self.url} rejected the request ({status} {code}): {message}"
        self._fail(what, rejected, self.hint(), exc)

    def _client_error(self, what: str, exc: Exception) -> NoReturn:
        code = str(getattr(exc, "expression", "") or "")
        parse_error = isinstance(exc, client_errors.RegoParseError)
        message = str(exc) if parse_error else str(getattr(exc, "message", "") or "")
        if code == "unauthorized":
            refused = f"OPA at {self.url} refused the request: {message}"
            self._fail(what, refused, self.auth_hint(), exc, transport=True)
        hint = "run `opa check --strict` on the policy folder" if parse_error else self.hint()
        self._fail(what, f"OPA: {message or code or type(exc).__name__}", hint, exc)

    def auth_hint(self) -> str:
        if self.token_set:
            return "check GATE_OPA_TOKEN: OPA's authorization policy does not accept this token"
        return "OPA requires authentication: set GATE_OPA_TOKEN to a bearer token it accepts"

    def hint(self) -> str:
        return f"is OPA running at {self.url}, and does GATE_OPA_TOKEN / GATE_OPA_CA_FILE match it?"

    def _fail(
        self, what: str, message: str, hint: str, exc: BaseException, *, transport: bool = False
    ) -> NoReturn:
        kind = OpaUnavailable if transport else EngineError
        raise kind(f"cannot {what}: {message}", hint=hint) from exc


def opa_error(response: requests.Response | None) -> tuple[str, str]:
    """OPA's ``code`` and message (with its detailed errors) from an error response."""
    if response is None:
        return "", ""
    try:
        body: Any = response.json()
    except ValueError:
        return "", response.text[:500]
    if not isinstance(body, dict):
        return "", str(body)[:500]
    message = str(body.get("message", ""))
    details = [
        str(err.get("message", ""))
        for err in body.get("errors") or []
        if isinstance(err, dict) and err.get("message")
    ]
    if details:
        message = f"{message}: {'; '.join(details)}" if message else "; ".join(details)
    return str(body.get("code", "")), message


def _root_cause(exc: BaseException) -> str:
    cause: BaseException = exc
    seen = {id(exc)}
    while True:
        nxt = cause.__cause__ or cause.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        cause = nxt
    return str(cause) or type(cause).__name__
