"""HTTP for the registry client: host allowlist per hop, redirects, retries, one deadline.

Every URL is checked before a socket opens: its host must be one the caller allows for
this request (the registry itself, its token realm, configured blob-storage hosts), and
plain HTTP is used only for hosts listed as insecure. Redirects are followed by hand (a
few hops, same scheme, no loops), retries back off with jitter on 429/5xx/connection
errors and honour ``Retry-After`` within the deadline. A watchdog shuts the request's
sockets down when the deadline passes, so a server trickling bytes cannot hold gate.

    >>> host_allowed("eu.gcr.io", ("*.gcr.io",)), host_allowed("gcr.io.evil", ("*.gcr.io",))
    (True, False)
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from threading import Lock
from urllib.parse import urljoin, urlsplit

import requests

from gate.facts.registry import watchdog
from gate.facts.registry.interface import Deadline, RegistryError, deadline_error, network_error

# Content is hashed as served: no compression (and no decompression bomb) in between.
_IDENTITY = {"Accept-Encoding": "identity"}
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class TransportOptions:
    insecure_hosts: tuple[str, ...] = ()
    ca_bundle: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_retries: int = 3
    backoff_base: float = 0.1
    backoff_max: float = 2.0
    max_redirects: int = 3
    user_agent: str = "gate-registry-client/1"


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact host[:port] match, or ``*.suffix`` matching one or more leading labels."""
    host = host.lower()
    return any(
        host == p or (p.startswith("*.") and host.endswith(p[1:]) and len(host) > len(p) - 1)
        for p in patterns
    )


class Transport:
    """One ``requests.Session`` shared by threads, with counters of what went out."""

    def __init__(self, options: TransportOptions, session: requests.Session | None = None):
        self.options = options
        self.session = session or watchdog.new_session()
        self.session.trust_env = False  # no proxy or .netrc from the environment
        self.stats: Counter[str] = Counter()
        self._lock = Lock()

    def base_url(self, host: str) -> str:
        scheme = "http" if host in self.options.insecure_hosts else "https"
        return f"{scheme}://{host}"

    @contextlib.contextmanager
    def open(
        self,
        method: str,
        url: str,
        *,
        hosts: tuple[str, ...],
        deadline: Deadline,
        where: str,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[requests.Response]:
        """The final response (after redirects and retries), streamed; closed on exit."""
        with watchdog.watch(deadline.expires_at) as watch:
            response = self._with_retries(method, url, dict(headers or {}), hosts, deadline, where)
            try:
                if watch.fired:  # headers cut short by the watchdog
                    raise deadline_error(where)
                yield response
            except RegistryError as exc:
                if watch.fired or deadline.expired():
                    raise deadline_error(where) from exc
                raise
            finally:
                response.close()
            if watch.fired:  # what was read may be truncated
                raise deadline_error(where)

    def _with_retries(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        hosts: tuple[str, ...],
        deadline: Deadline,
        where: str,
    ) -> requests.Response:
        attempt = 0
        while True:
            try:
                response = self._follow(method, url, headers, hosts, deadline, where)
            except requests.RequestException as exc:
                if deadline.expired() or attempt >= self.options.max_retries:
                    raise network_error(exc, where, deadline) from exc
                self._pause(self._backoff(attempt), deadline, where, str(type(exc).__name__))
            else:
                if (
                    response.status_code not in RETRY_STATUSES
                    or attempt >= self.options.max_retries
                ):
                    return response
                response.close()
                delay = _retry_after(response) or self._backoff(attempt)
                self._pause(delay, deadline, where, f"HTTP {response.status_code}")
            attempt += 1
            self._count("retries")

    def _backoff(self, attempt: int) -> float:
        cap = min(self.options.backoff_max, self.options.backoff_base * 2**attempt)
        return random.uniform(cap / 2, cap)  # jitter, not secrecy

    def _pause(self, delay: float, deadline: Deadline, where: str, why: str) -> None:
        if delay >= deadline.remaining():
            raise RegistryError(
                f"{where}: {why}; retrying after {delay:.1f}s would pass the deadline",
                hint="the registry is overloaded or rate limiting gate: retry later",
            )
        time.sleep(delay)

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        hosts: tuple[str, ...],
        deadline: Deadline,
        where: str,
    ) -> requests.Response:
        seen: set[str] = set()
        scheme = urlsplit(url).scheme
        for _ in range(self.options.max_redirects + 1):
            self._check_url(url, scheme, hosts, where)
            seen.add(url)
            response = self._send(method, url, headers, deadline, where)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location:
                return response
            response.close()
            target = urljoin(url, location)
            if target in seen:
                raise RegistryError(f"{where}: redirect loop at {target}", hint=_REDIRECT_HINT)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            method = "GET" if response.status_code == 303 and method != "HEAD" else method
            url = target
        raise RegistryError(
            f"{where}: more than {self.options.max_redirects} redirects", hint=_REDIRECT_HINT
        )

    def _check_url(self, url: str, scheme: str, hosts: tuple[str, ...], where: str) -> None:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        insecure = host in self.options.insecure_hosts
        wanted = "http" if insecure else "https"
        if parts.scheme != wanted or parts.scheme != scheme or "@" in host:
            raise RegistryError(
                f"{where}: refusing {parts.scheme}://{host} (gate uses {wanted} for this host "
                f"and does not change scheme on a redirect)",
                hint="plain HTTP is only for hosts listed as insecure in the registry settings",
            )
        if not host_allowed(host, hosts):
            raise RegistryError(
                f"{where}: refusing to contact {host}: not an approved registry or blob host",
                hint="approve the registry in data.gate.params.registries.approved, or add "
                "the storage host it redirects to to the blob-host settings",
            )

    def _send(
        self, method: str, url: str, headers: dict[str, str], deadline: Deadline, where: str
    ) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline_error(where)
        timeout = (
            min(self.options.connect_timeout, remaining),
            min(self.options.read_timeout, remaining),
        )
        self._count("round_trips")
        return self.session.request(
            method,
            url,
            headers={"User-Agent": self.options.user_agent, **_IDENTITY, **headers},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            verify=self.options.ca_bundle or True,
        )

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1


_REDIRECT_HINT = "the registry or its storage is misconfigured (or hostile): check its redirects"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time()) if value else None
    except (TypeError, ValueError):
        return None
