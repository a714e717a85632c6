"""Limits that keep one pipeline from starving the webhook or the other pipelines.

Each gunicorn worker runs API work on its own small pool (``GATE_API_MAX_IN_FLIGHT``
threads), apart from the webhook's evaluation pool, so admission reviews always have
request threads and evaluation threads left. :class:`Limiter` admits a request only if
its caller has fewer than ``per_caller`` requests in flight and the worker fewer than
``total``; otherwise :class:`TooBusy` (HTTP 429 with ``Retry-After``). A slot is held
until the work itself ends, not until the reply is sent: a request that timed out (HTTP
504) still counts against its caller while gate finishes it.

    >>> limiter = Limiter(per_caller=1, total=4)
    >>> first = limiter.run("ci@p.iam.gserviceaccount.com", lambda: 42, timeout=5)
    >>> first
    42
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from gate.errors import GateError

T = TypeVar("T")
RETRY_AFTER_SECONDS = 5


class TooBusy(GateError):
    kind = "busy"

    def __init__(self, message: str, *, hint: str = "", retry_after: int) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class TimedOut(GateError):
    kind = "timeout"


class Limiter:
    def __init__(self, *, per_caller: int, total: int) -> None:
        self.per_caller, self.total = per_caller, total
        self.pool = ThreadPoolExecutor(total, thread_name_prefix="gate-api")
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()

    def in_flight(self, caller: str | None = None) -> int:
        with self._lock:
            return self._busy.get(caller, 0) if caller else sum(self._busy.values())

    def run(self, caller: str, work: Callable[[], T], *, timeout: float) -> T:
        """``work()`` on the API pool for ``caller``; TooBusy or TimedOut instead."""
        self._acquire(caller)
        try:
            future: Future[T] = self.pool.submit(work)
        except RuntimeError:  # the pool is shut down (the worker is stopping)
            self._release(caller)
            raise
        future.add_done_callback(lambda _: self._release(caller))
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            raise TimedOut(
                f"the request took longer than {timeout:g} s",
                hint="gate finishes it in the background: an attestation made meanwhile is "
                "reported as 'already attested' when you ask again",
            ) from exc

    def _acquire(self, caller: str) -> None:
        with self._lock:
            mine, everyone = self._busy.get(caller, 0), sum(self._busy.values())
            if mine >= self.per_caller:
                raise TooBusy(
                    f"{caller} already has {mine} request(s) in flight "
                    f"(the limit per caller is {self.per_caller})",
                    hint="wait for them to finish, then retry after Retry-After seconds",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            if everyone >= self.total:
                raise TooBusy(
                    f"gate is busy with {everyone} API requests",
                    hint="retry after Retry-After seconds",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            self._busy[caller] = mine + 1

    def _release(self, caller: str) -> None:
        with self._lock:
            left = self._busy.get(caller, 1) - 1
            if left > 0:
                self._busy[caller] = left
            else:
                self._busy.pop(caller, None)
