"""The issuer's signing keys (a JWKS document), fetched over HTTPS and cached.

Keys are kept for the ``Cache-Control: max-age`` the issuer sends (Google: hours),
clamped to [1 min, 6 h]. A token naming a key id not in the cache refreshes the set
(keys rotate), but at most once per ``min_refresh`` seconds, so tokens with made-up key
ids cannot turn gate into a JWKS-fetching amplifier. When a refresh fails, the keys
already held stay in use for up to ``stale_for`` seconds; with none, the failure is a
:class:`JwksUnavailable` (HTTP 503: try again).

    >>> keys = Jwks("http://127.0.0.1:9/certs")          # nothing is fetched yet
    >>> keys.key("k1")
    Traceback (most recent call last):
    ...
    gate.api.jwks.JwksUnavailable: cannot fetch the token signing keys from http://127.0.0.1:9/certs
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import jwt
import requests

from gate.errors import GateError

MIN_TTL, MAX_TTL, DEFAULT_TTL = 60.0, 6 * 3600.0, 300.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class JwksUnavailable(GateError):
    kind = "jwks"


class UnknownKey(GateError):
    kind = "token"


class Jwks:
    """The key set at ``url``; :meth:`key` returns the key for a ``kid``."""

    def __init__(
        self,
        url: str,
        *,
        ca_file: str = "",
        timeout: float = 5.0,
        min_refresh: float = 30.0,
        stale_for: float = 3600.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url, self.timeout = url, timeout
        self.min_refresh, self.stale_for = min_refresh, stale_for
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy or CA bundle from the environment
        self.verify: str | bool = ca_file or True
        self.fetches = 0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires = 0.0  # monotonic time the keys go stale
        self._fetched = -1e9  # monotonic time of the last attempt
        self._error = ""
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The signing key ``kid``; UnknownKey if the issuer has none by that id."""
        with self._lock:
            now = time.monotonic()
            known = self._keys.get(kid)
            if known is not None and now < self._expires:
                return known
            if now - self._fetched >= self.min_refresh:
                self._refresh(now)
            elif not self._keys:
                raise self._unavailable(self._error)
            found = self._keys.get(kid)
        if found is None:
            raise UnknownKey(
                f"the token is signed with key {kid!r}, which the issuer does not publish",
                hint="use a fresh token from the issuer (gcloud auth print-identity-token)",
            )
        return found

    def _refresh(self, now: float) -> None:
        self._fetched = now
        self.fetches += 1
        try:
            reply = self.session.get(self.url, timeout=self.timeout, verify=self.verify)
            reply.raise_for_status()
            keys = _parse(reply.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            self._error = f"{type(exc).__name__}: {exc}"
            if self._keys and now < self._expires + self.stale_for:
                return  # keep the keys held: a brief outage at the issuer is not ours
            self._keys = {}
            raise self._unavailable(self._error) from exc
        self._keys, self._error = keys, ""
        self._expires = now + _ttl(reply.headers.get("Cache-Control", ""))

    def _unavailable(self, why: str) -> JwksUnavailable:
        return JwksUnavailable(
            f"cannot fetch the token signing keys from {self.url}",
            hint=f"check that gate can reach it ({why or 'not fetched yet'})",
        )

    def __repr__(self) -> str:
        return f"Jwks({self.url!r}, {len(self._keys)} keys)"


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    """The RSA signing keys with a ``kid`` (others are ignored: Google signs RS256)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    keys = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
            continue
        keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256")
    return keys


def _ttl(cache_control: str) -> float:
    found = _MAX_AGE.search(cache_control)
    if found is None:
        return DEFAULT_TTL
    return min(max(float(found.group(1)), MIN_TTL), MAX_TTL)
