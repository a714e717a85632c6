"""The OPA engine: evaluate ``data.gate.main`` on an OPA server (see :mod:`gate.policy.opa`).

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
from typing import Any

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
from gate.policy.opa.connection import connect, parse_url
from gate.policy.opa.errors import Calls
from gate.policy.opa.push import Pusher
from gate.policy.source import PolicySource

log = logging.getLogger(__name__)
QUERY_PARAMS = {"strict-builtin-errors": "true"}


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
        scheme, host, port = parse_url(url)
        if ca_file and scheme != "https":
            raise ConfigError(
                f"a CA file ({ca_file}) was given for the plain-http OPA URL {url}",
                hint="use an https:// URL for OPA, or drop GATE_OPA_CA_FILE",
            )
        self.url = f"{scheme}://{host}:{port}"
        self.push = push
        self.timeout = timeout
        self._source = source
        self._client = connect(
            scheme, host, port, token=token, ca_file=ca_file, retries=retries, timeout=timeout
        )
        self._calls = Calls(self.url, timeout=timeout, token_set=bool(token))
        self._pusher = Pusher(self._client, self._calls)
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
                self._pusher.push(policy_set, self._pushed)
            except EngineError as exc:
                # OPA may now hold part of the new set: the next push syncs with what it holds.
                self._pushed = None
                self._failed = (policy_set.fingerprint, time.monotonic(), exc)
                log.error("pushing the policy set to OPA at %s failed: %s", self.url, exc)
                raise
            self._pushed = policy_set
            self._failed = None
            return policy_set.fingerprint

    # -- querying --------------------------------------------------------------------

    def query(
        self,
        document: Mapping[str, Any],
        scope: Scope = Scope.FULL,
        *,
        deadline: float | None = None,
    ) -> Any:
        # OPA cannot be told to stop: the client's timeout bounds each request instead.
        self.prepare()
        return self._evaluate(document, scope.package, scope.rule)

    def fetchable(self) -> tuple[str, ...]:
        fingerprint = self.prepare()
        cached = self._fetchable
        fresh = cached is not None and (self.push or time.monotonic() - cached[1] < self._refresh)
        if cached is not None and cached[0] == fingerprint and fresh:
            return cached[2]
        patterns = fetchable_patterns(self._evaluate({}, DECISION_PACKAGE, FETCHABLE_RULE))
        self._fetchable = (fingerprint, time.monotonic(), patterns)
        return patterns

    def _evaluate(self, document: Mapping[str, Any], package: str, rule: str) -> Any:
        """``data.<package>.<rule>`` on ``document`` (pushed policies already prepared)."""
        response = self._query_once(document, package, rule)
        if "result" not in response and self.push and not self._policy_still_there():
            # OPA lost what we pushed (restarted?): push again and ask once more.
            log.warning("OPA at %s no longer holds the gate policies; pushing again", self.url)
            with self._lock:
                self._pushed = None
            self.prepare()
            response = self._query_once(document, package, rule)
        return response.get("result")

    def _policy_still_there(self) -> bool:
        """After an undefined result: does OPA still hold our modules (or did it restart)?"""
        pushed = self._pushed
        if pushed is None or not pushed.policy_modules:
            return False
        return self._pusher.holds(pushed.policy_modules[0].path)

    def _query_once(self, document: Mapping[str, Any], package: str, rule: str) -> dict[str, Any]:
        plain = document if isinstance(document, dict) else json.loads(json.dumps(document))
        query = self._client.query_rule
        response = self._calls.run(
            f"evaluate data.{package}.{rule}", query, plain, package, rule, QUERY_PARAMS
        )
        if not isinstance(response, dict):
            raise EngineError(
                f"OPA at {self.url} answered with a {type(response).__name__}, not an object",
                hint=f"is {self.url} an OPA server?",
            )
        return response
