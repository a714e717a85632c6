"""Load for bench/admission.py: HTTPS keep-alive clients, closed and open loop, and wrk.

``closed_loop`` keeps ``concurrency`` requests in flight (each thread its own connection);
``open_loop`` sends at a fixed rate and measures latency from each request's *scheduled*
time, so a slow server cannot hide its queueing (no coordinated omission); ``run_wrk`` uses
wrk (Debian's ``wrk``) for the highest rates, where a Python client would be the bottleneck.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
"""

from __future__ import annotations

import http.client
import queue
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0

    @classmethod
    def of(cls, latencies: Sequence[float], seconds: float, errors: int = 0) -> Result:
        return cls(
            len(latencies), seconds, percentile(latencies, 50), percentile(latencies, 99), errors
        )

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Client:
    """One keep-alive HTTPS connection to gate on 127.0.0.1."""

    def __init__(self, port: int, ca: Path, path: str = "/validate") -> None:
        context = ssl.create_default_context(cafile=str(ca))
        self.connection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=context, timeout=30
        )
        self.path = path

    def post(self, body: bytes) -> bool:
        self.connection.request("POST", self.path, body, {"Content-Type": "application/json"})
        reply = self.connection.getresponse()
        reply.read()
        return reply.status == 200


def closed_loop(
    port: int,
    ca: Path,
    bodies: Callable[[int], bytes],
    *,
    concurrency: int,
    seconds: float,
    total: int | None = None,
    path: str = "/validate",
) -> Result:
    """``concurrency`` threads post ``bodies(i)`` to ``path`` back to back for ``seconds``
    (or ``total``)."""
    latencies: list[float] = []
    errors = [0]
    counter = iter(range(1 << 62))
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker() -> None:
        client = Client(port, ca, path)
        while time.monotonic() < end:
            with lock:
                index = next(counter)
            if total is not None and index >= total:
                return
            started = time.perf_counter()
            ok = client.post(bodies(index))
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result.of(latencies, time.monotonic() - started, errors[0])


def open_loop(
    port: int, ca: Path, body: bytes, *, rate: float, seconds: float, senders: int = 16
) -> Result:
    """``rate`` requests per second for ``seconds``; latency counted from the schedule."""
    schedule: queue.Queue[float | None] = queue.Queue()
    latencies: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        client = Client(port, ca)
        while (due := schedule.get()) is not None:
            client.post(body)
            with lock:
                latencies.append((time.perf_counter() - due) * 1000)

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.1
    total = int(rate * seconds)
    for index in range(total):
        due = start + index / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        schedule.put(due)
    for _ in threads:
        schedule.put(None)
    for thread in threads:
        thread.join()
    return Result.of(latencies, time.perf_counter() - start)


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    port: int, body: bytes, *, concurrency: int, seconds: float, threads: int = 2
) -> Result:
    """wrk's rate and latency percentiles (it checks no certificate: the body is the same)."""
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "body.json"
        body_file.write_bytes(body)
        script = Path(folder) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*a"); f:close()\n'
        )
        out = subprocess.run(
            [
                str(wrk_binary()),
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{seconds:g}s",
                "-s",
                str(script),
                "--latency",
                f"https://127.0.0.1:{port}/validate",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    took = _duration(re.search(r"requests in ([\d.]+\w+),", out).group(1))  # type: ignore[union-attr]
    p50 = _duration(re.search(r"50%\s+([\d.]+\w+)", out).group(1)) * 1000  # type: ignore[union-attr]
    p99 = _duration(re.search(r"99%\s+([\d.]+\w+)", out).group(1)) * 1000  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(total, took, p50, p99, int(errors.group(1)) if errors else 0)


def _duration(text: str) -> float:
    """wrk's ``812.5us`` / ``3.2ms`` / ``1.01s`` / ``2.00m`` in seconds."""
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
