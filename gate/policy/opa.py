"""The OPA engine: a real OPA server over its REST API, through ``opa-python-client``.

Two ways to run it:

- **push** (default): gate owns the policy set. It uploads every policy module (the
  module's path is its policy id) and the data document (one PUT per top-level key of
  ``PolicySet.data``) and uploads again whenever the source's fingerprint changes, only
  the modules whose text changed (OPA recompiles every module on each upload). Gate
  modules that OPA still holds from an older set (package ``gate.*``, not in the current
  set) are deleted, so a renamed file cannot leave a conflicting rule behind.
- **serve** (``push=False``): OPA already serves the policies (from a bundle); gate
  only queries ``data.gate.main``.

:meth:`OpaEngine.fetchable` asks ``data.gate.main.fetchable`` once per pushed policy set;
when OPA serves its own bundle, gate cannot tell when it changes and asks again once
``refresh`` seconds (GATE_RELOAD_INTERVAL) have passed.

Queries run with ``strict-builtin-errors=true``, so a builtin error is an error (and
denies), as in the embedded engine. Every transport, HTTP, TLS or JSON failure becomes
an :class:`EngineError` with a hint; an undefined result is ``None``.

    >>> engine = OpaEngine("http://127.0.0.1:8181", push=False)
    >>> engine.name, engine.url
    ('opa', 'http://127.0.0.1:8181')
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from opa_client.errors import (
    ConnectionsError,
    DeletePolicyError,
    PatchDataError,
    PolicyNotFoundError,
    QueryExecuteError,
    RegoParseError,
    TypeException,
)
from opa_client.opa import OpaClient
from requests.adapters import HTTPAdapter

from gate.errors import ConfigError
from gate.policy.interface import (
    DECISION_PACKAGE,
    FETCHABLE_RULE,
    Engine,
    EngineError,
    Scope,
    fetchable_patterns,
)
from gate.policy.loader import PolicySet
from gate.policy.source import PolicySource

log = logging.getLogger(__name__)

# The client's own errors, each carrying ``expression`` (OPA's error code) and ``message``.
_CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionsError,
    DeletePolicyError,
    PatchDataError,
    PolicyNotFoundError,
    QueryExecuteError,
    RegoParseError,
    TypeException,
)
_QUERY_PARAMS = {"strict-builtin-errors": "true"}
_GATE_PACKAGE_PATH = ("data", "gate")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OpaUnavailable(EngineError):
    """OPA cannot be reached or refuses gate (transport, TLS, authentication)."""


class OpaEngine(Engine):
    """Evaluate ``data.gate.main`` on an OPA server.

    ``url`` is ``http[s]://host[:port]`` (no path: OPA's API lives at the root).
    ``token`` is sent as ``Authorization: Bearer``; ``ca_file`` is the CA bundle that
    verifies an https server (the system store when empty). Nothing is sent to OPA
    until the first :meth:`query` (or an explicit :meth:`prepare`), so gate may start
    before its OPA sidecar does.
    """

    name = "opa"

    def __init__(
        self,
        url: str,
        source: PolicySource | None = None,
        *,
        token: str = "",
        ca_file: str = "",
        timeout: float = 5.0,
        push: bool = True,
        retries: int = 2,
        retry_push_after: float = 2.0,
        refresh: float = 2.0,
    ) -> None:
        if push and source is None:
            raise ConfigError(
                "the OPA engine needs a policy source to push",
                hint="give it the policy folder, or set GATE_OPA_PUSH_POLICIES=false "
                "if OPA loads the policies from a bundle itself",
            )
        if timeout <= 0:
            raise ConfigError(f"OPA timeout must be positive, not {timeout}")
        scheme, host, port = _parse_url(url)
        if ca_file and scheme != "https":
            raise ConfigError(
                f"a CA file ({ca_file}) was given for the plain-http OPA URL {url}",
                hint="use an https:// URL for OPA, or drop GATE_OPA_CA_FILE",
            )
        self.url = f"{scheme}://{host}:{port}"
        self.push = push
        self.timeout = timeout
        self._source = source
        self._token_set = bool(token)
        self._client = OpaClient(
            host=host,
            port=port,
            ssl=scheme == "https",
            token=token or None,
            retries=retries,
            timeout=timeout,
        )
        if scheme == "https" and ca_file:
            _verify_with(self._client._session, ca_file)
        self._retry_push_after = retry_push_after
        self._lock = threading.Lock()
        self._pushed: PolicySet | None = None  # the set OPA holds, as far as we know
        self._failed: tuple[str, float, EngineError] | None = None  # fingerprint, when, why
        self._refresh = refresh
        # fingerprint of the pushed set ("" when serving), when asked, patterns
        self._fetchable: tuple[str, float, tuple[str, ...]] | None = None

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        self._client.close_connection()

    def __enter__(self) -> OpaEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def healthy(self) -> bool:
        """True when OPA answers ``/health`` with 200 (never raises)."""
        try:
            return bool(self._client.check_health())
        except Exception:  # the client only catches requests' own errors
            return False

    # -- pushing ---------------------------------------------------------------------

    def prepare(self) -> str:
        """Push the current policy set if OPA does not hold it yet; returns its fingerprint.

        Raises :class:`EngineError` when the push fails. After a failed push queries fail
        (closed) until a push succeeds: OPA may hold a mix of the old and new modules.
        """
        if not self.push:
            return ""
        assert self._source is not None
        policy_set = self._source.current()
        if self._pushed is not None and self._pushed.fingerprint == policy_set.fingerprint:
            return policy_set.fingerprint
        with self._lock:
            if self._pushed is not None and self._pushed.fingerprint == policy_set.fingerprint:
                return policy_set.fingerprint
            failed = self._failed
            if (
                failed is not None
                and failed[0] == policy_set.fingerprint
                and time.monotonic() - failed[1] < self._retry_push_after
            ):
                raise failed[2]
            try:
                self._push(policy_set)
            except EngineError as exc:
                # OPA may now hold part of the new set: the next push syncs with what it holds.
                self._pushed = None
                self._failed = (policy_set.fingerprint, time.monotonic(), exc)
                log.error("pushing the policy set to OPA at %s failed: %s", self.url, exc)
                raise
            self._pushed = policy_set
            self._failed = None
            return policy_set.fingerprint

    def _push(self, policy_set: PolicySet) -> None:
        previous = self._pushed
        self._push_data(policy_set, previous)
        wanted = {module.path: module.source for module in policy_set.policy_modules}
        if previous is None:  # what OPA holds now: a restarted gate re-uploads only changes
            held = self._call("list the policies OPA holds", self._held_gate_modules)
        else:
            held = {m.path: m.source for m in previous.policy_modules}
        changed = {path: src for path, src in wanted.items() if held.get(path) != src}
        self._push_modules(changed, set(held) - set(wanted))

    def _push_data(self, policy_set: PolicySet, previous: PolicySet | None) -> None:
        for key, value in policy_set.data.items():
            if previous is not None and key in previous.data and previous.data[key] == value:
                continue
            document = json.loads(json.dumps(value))
            if isinstance(document, dict):
                self._call(f"write data.{key}", self._client.update_or_create_data, document, key)
            else:  # the client writes objects only: a JSON patch on the root writes the rest
                patch = [{"op": "add", "path": f"/{_pointer(key)}", "value": document}]
                self._call(f"write data.{key}", self._patch_root, patch)
        if previous is not None:
            for key in set(previous.data) - set(policy_set.data):
                self._call(f"delete data.{key}", self._client.delete_data, key)

    def _patch_root(self, patch: list[dict[str, Any]]) -> None:
        # The client's patch_data("") asks for /v1/data/, which OPA redirects (and requests
        # then drops the body): patch /v1/data on the client's own session instead.
        response = self._client._session.patch(
            f"{self._client.root_url}/data",
            json=patch,
            headers={"Content-Type": "application/json-patch+json"},
            timeout=self.timeout,
        )
        response.raise_for_status()

    def _push_modules(self, wanted: Mapping[str, str], stale: set[str]) -> None:
        """Upload ``wanted`` and delete ``stale`` modules, in whatever order OPA accepts.

        OPA compiles the whole set on every change, so a module that calls a function of a
        module not uploaded yet (or whose callee is deleted first) is refused. Repeating
        the refused operations until none succeeds more finds a working order without a
        dependency graph; what still fails then is a real error.
        """
        pending: dict[tuple[str, str], str] = {("put", path): src for path, src in wanted.items()}
        pending.update({("delete", path): "" for path in stale})
        while pending:
            before = len(pending)
            refused: list[EngineError] = []
            for (op, path), text in list(pending.items()):
                try:
                    if op == "put":
                        self._call(
                            f"upload policy {path}",
                            self._client.update_policy_from_string,
                            text,
                            path,
                            rego_compat=False,
                        )
                    else:
                        self._call(f"delete policy {path}", self._client.delete_policy, path)
                except OpaUnavailable:
                    raise  # OPA unreachable or refusing us: retrying the rest is futile
                except EngineError as exc:
                    refused.append(exc)
                    continue
                del pending[(op, path)]
            if len(pending) == before:
                raise refused[0]  # a whole round without progress: a real error

    def _held_gate_modules(self) -> dict[str, str]:
        """Id and source of every module OPA holds in the ``gate`` package tree.

        The client's listings drop the source text, so this reads ``/v1/policies`` on
        the client's session.
        """
        response = self._client._session.get(
            f"{self._client.root_url}/policies", timeout=self.timeout
        )
        response.raise_for_status()
        held: dict[str, str] = {}
        for policy in response.json().get("result") or []:
            package = policy.get("ast", {}).get("package", {}).get("path", [])
            path = tuple(str(term.get("value", "")) for term in package[:2])
            if path == _GATE_PACKAGE_PATH:
                held[str(policy.get("id", ""))] = str(policy.get("raw", ""))
        return held

    def _policy_still_there(self) -> bool:
        """After an undefined result: does OPA still hold our modules (or did it restart)?"""
        if self._pushed is None or not self._pushed.policy_modules:
            return False
        path = self._pushed.policy_modules[0].path
        try:
            self._call(f"read policy {path}", self._client.get_policy, path)
        except OpaUnavailable:
            raise
        except EngineError:
            return False
        return True

    # -- querying --------------------------------------------------------------------

    def query(self, document: Mapping[str, Any], scope: Scope = Scope.FULL) -> Any:
        self.prepare()
        return self._evaluate(document, scope.value)

    def fetchable(self) -> tuple[str, ...]:
        fingerprint = self.prepare()
        cached = self._fetchable
        fresh = cached is not None and (self.push or time.monotonic() - cached[1] < self._refresh)
        if cached is not None and cached[0] == fingerprint and fresh:
            return cached[2]
        patterns = fetchable_patterns(self._evaluate({}, FETCHABLE_RULE))
        self._fetchable = (fingerprint, time.monotonic(), patterns)
        return patterns

    def _evaluate(self, document: Mapping[str, Any], rule: str) -> Any:
        """``data.gate.main.<rule>`` on ``document`` (pushed policies already prepared)."""
        response = self._query_once(document, rule)
        if "result" not in response and self.push and not self._policy_still_there():
            # OPA lost what we pushed (restarted?): push again and ask once more.
            log.warning("OPA at %s no longer holds the gate policies; pushing again", self.url)
            with self._lock:
                self._pushed = None
            self.prepare()
            response = self._query_once(document, rule)
        return response.get("result")

    def _query_once(self, document: Mapping[str, Any], rule: str) -> dict[str, Any]:
        response = self._call(
            f"evaluate data.{DECISION_PACKAGE}.{rule}",
            self._client.query_rule,
            _plain(document),
            DECISION_PACKAGE,
            rule,
            _QUERY_PARAMS,
        )
        if not isinstance(response, dict):
            raise EngineError(
                f"OPA at {self.url} answered with a {type(response).__name__}, not an object",
                hint=f"is {self.url} an OPA server?",
            )
        return response

    # -- errors ----------------------------------------------------------------------

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call; every failure comes out as an :class:`EngineError`."""
        try:
            return function(*args, **kwargs)
        except requests.exceptions.SSLError as exc:
            self._fail(
                what,
                f"TLS handshake with OPA at {self.url} failed: {exc}",
                "check that OPA serves a certificate for this host and that GATE_OPA_CA_FILE "
                "names the CA that signed it",
                exc,
                transport=True,
            )
        except requests.exceptions.Timeout as exc:
            self._fail(
                what,
                f"OPA at {self.url} did not answer within {self.timeout}s",
                "is OPA overloaded or stuck? raise GATE_OPA_TIMEOUT if evaluations are slow",
                exc,
                transport=True,
            )
        except requests.exceptions.ConnectionError as exc:
            self._fail(
                what,
                f"cannot reach OPA at {self.url}: {_root_cause(exc)}",
                f"is OPA running at {self.url}? start it with `opa run --server` "
                "or set GATE_OPA_URL",
                exc,
                transport=True,
            )
        except requests.exceptions.HTTPError as exc:
            self._http_error(what, exc)
        except requests.exceptions.JSONDecodeError as exc:
            self._fail(
                what,
                f"OPA at {self.url} did not answer with JSON: {exc}",
                f"is {self.url} an OPA server (and not a proxy or another service)?",
                exc,
                transport=True,
            )
        except requests.exceptions.RequestException as exc:
            self._fail(what, f"request to OPA at {self.url} failed: {exc}", _hint(self.url), exc)
        except _CLIENT_ERRORS as exc:
            self._client_error(what, exc)
        except (TypeError, ValueError) as exc:
            self._fail(
                what,
                f"cannot send the document to OPA: {exc}",
                "the input or data must be plain JSON",
                exc,
            )

    def _http_error(self, what: str, exc: requests.exceptions.HTTPError) -> NoReturn:
        response = exc.response
        status = response.status_code if response is not None else 0
        code, message = _opa_error(response)
        if status in (401, 403):
            self._fail(
                what,
                f"OPA at {self.url} refused the request ({status} {code}): {message}",
                self._auth_hint(),
                exc,
                transport=True,
            )
        if status >= 500 or code in {"internal_error", "eval_conflict_error"}:
            self._fail(
                what,
                f"OPA could not evaluate the policies ({code or status}): {message}",
                "a builtin error or conflicting rule outputs; run `gate test` on the policies",
                exc,
            )
        self._fail(
            what,
            f"OPA at {self.url} rejected the request ({status} {code}): {message}",
            _hint(self.url),
            exc,
        )

    def _client_error(self, what: str, exc: BaseException) -> NoReturn:
        code = str(getattr(exc, "expression", "") or "")
        message = str(exc) if isinstance(exc, RegoParseError) else getattr(exc, "message", "")
        if code == "unauthorized":
            self._fail(
                what,
                f"OPA at {self.url} refused the request: {message}",
                self._auth_hint(),
                exc,
                transport=True,
            )
        hint = (
            "run `opa check --strict` on the policy folder"
            if isinstance(exc, RegoParseError)
            else _hint(self.url)
        )
        self._fail(what, f"OPA: {message or code or type(exc).__name__}", hint, exc)

    def _auth_hint(self) -> str:
        if self._token_set:
            return "check GATE_OPA_TOKEN: OPA's authorization policy does not accept this token"
        return "OPA requires authentication: set GATE_OPA_TOKEN to a bearer token it accepts"

    def _fail(
        self, what: str, message: str, hint: str, exc: BaseException, *, transport: bool = False
    ) -> NoReturn:
        kind = OpaUnavailable if transport else EngineError
        raise kind(f"cannot {what}: {message}", hint=hint) from exc


class _CaFileAdapter(HTTPAdapter):
    """Verify with one CA file, whatever REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE say.

    requests lets those variables replace a session's ``verify`` (psf/requests#3829), so
    setting ``session.verify`` alone would quietly trust another CA bundle.
    """

    def __init__(self, ca_file: str, max_retries: Any) -> None:
        super().__init__(max_retries=max_retries)
        self.ca_file = ca_file

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, timeout, self.ca_file, cert, proxies)


def _verify_with(session: requests.Session, ca_file: str) -> None:
    """Verify https with ``ca_file`` only (the client turns on the system store)."""
    session.verify = ca_file
    current = session.get_adapter("https://")
    retries = current.max_retries if isinstance(current, HTTPAdapter) else 0
    session.mount("https://", _CaFileAdapter(ca_file, retries))


def _parse_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url.strip())
    hint = "GATE_OPA_URL looks like http://127.0.0.1:8181 or https://opa.example:8181"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"OPA URL {url!r} is not an http(s) URL with a host", hint=hint)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"OPA URL {url!r} has a path or query; OPA's API lives at the server root",
            hint=hint,
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"OPA URL {url!r} carries credentials", hint="pass a bearer token in GATE_OPA_TOKEN"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ConfigError(f"OPA URL {url!r} has an invalid port", hint=hint) from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port


def _plain(document: Mapping[str, Any]) -> Any:
    """A plain dict for requests' JSON encoder (Mappings that are not dicts included)."""
    return document if isinstance(document, dict) else json.loads(json.dumps(document))


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _opa_error(response: requests.Response | None) -> tuple[str, str]:
    """OPA's ``code`` and message (with its detailed errors) from an error response."""
    if response is None:
        return "", ""
    try:
        body = response.json()
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


def _hint(url: str) -> str:
    return f"is OPA running at {url}, and does GATE_OPA_TOKEN / GATE_OPA_CA_FILE match it?"
