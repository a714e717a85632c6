"""Give a worker's freed heap back to the system, which glibc's malloc does not do by itself.

glibc returns memory to the system only from the top of its heap: what is freed below a
block still in use stays resident. A flood of connections that each send part of a body
(every one refused, or shed) leaves a worker's heap holding hundreds of MB freed this way
(docs/webhook.md, "Memory"). :class:`HeapTrimmer` looks every few seconds at how much the
heap holds free (``mallinfo2``) and, past ``over`` bytes, asks glibc to give the freed
pages back (``malloc_trim``): a few milliseconds after a flood, nothing in normal service,
where the heap holds a few MB free. Where the C library is not glibc 2.33 or later, it does
nothing.

    >>> trimmer = HeapTrimmer.for_this_process(every=2.0, over=32 << 20)
    >>> trimmer.start()  # doctest: +SKIP
    >>> trimmer = HeapTrimmer.for_this_process(every=2.0, over=1 << 40)
    >>> trimmer is None or trimmer.check() is None  # far less free than that: nothing to do
    True
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
MIB = 1 << 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


class Glibc:
    """The two glibc calls the trimmer needs."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._mallinfo2 = libc.mallinfo2
        self._mallinfo2.restype = _MallInfo2
        self._malloc_trim = libc.malloc_trim
        self._malloc_trim.argtypes = [ctypes.c_size_t]

    @classmethod
    def load(cls) -> Glibc | None:
        """glibc with ``mallinfo2`` (2.33 or later), or None (musl, macOS, older glibc)."""
        try:
            return cls(ctypes.CDLL("libc.so.6"))  # glibc's soname; no ldconfig run to find it
        except (OSError, AttributeError):
            return None

    def free_bytes(self) -> int:
        """Bytes the heap holds free (resident or already given back)."""
        return int(self._mallinfo2().fordblks)

    def trim(self) -> None:
        self._malloc_trim(0)


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Trimmed:
    free: int  # bytes the heap held free
    before: int  # resident bytes before the trim
    after: int
    seconds: float


class HeapTrimmer:
    def __init__(self, libc: Glibc, *, every: float, over: int) -> None:
        self.libc, self.every, self.over = libc, every, over
        self._last = (0, 0)  # free and resident bytes after the last trim

    @classmethod
    def for_this_process(cls, *, every: float, over: int) -> HeapTrimmer | None:
        libc = Glibc.load()
        return cls(libc, every=every, over=over) if libc is not None else None

    def check(self) -> Trimmed | None:
        """Trim when the heap holds more than ``over`` bytes free, and either that or the
        resident memory has grown by ``over`` since the last trim: pages already given back
        still count as free, so the free figure alone would trim again and again after a
        flood, and pages used again and freed again show only in the resident figure."""
        free, before = self.libc.free_bytes(), resident_bytes()
        last_free, last_resident = self._last
        if free <= self.over or (
            free <= last_free + self.over and before <= last_resident + self.over
        ):
            return None
        started = time.perf_counter()
        self.libc.trim()
        after = resident_bytes()
        self._last = (self.libc.free_bytes(), after)
        return Trimmed(free, before, after, time.perf_counter() - started)

    def start(self) -> None:
        """Check every ``every`` seconds, for the life of the process, on a daemon thread."""
        threading.Thread(target=self._run, name="gate-heap", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            trimmed = self.check()
            if trimmed is not None:
                log.info(
                    "worker %d gave %d MiB of freed heap back (resident %d -> %d MiB, "
                    "%d MiB free, %.0f ms)",
                    os.getpid(),
                    (trimmed.before - trimmed.after) // MIB,
                    trimmed.before // MIB,
                    trimmed.after // MIB,
                    trimmed.free // MIB,
                    trimmed.seconds * 1000,
                )
