"""``gate audit --every 1h``: run the audit on a schedule, serve ``/metrics`` and ``/healthz``.

Runs start ``interval`` seconds apart (a run longer than that is followed at once by the
next). A run that raises unexpectedly is logged with its stack trace and counted as
failed; the loop goes on. SIGTERM ends the wait (a run in progress finishes first, its
writes are idempotent anyway). The HTTP server on ``GATE_AUDIT_METRICS_BIND`` answers
``/metrics`` (Prometheus text) and ``/healthz``: 200 while the loop turns, 503 when no run
has started for ``interval + GATE_AUDIT_TIMEOUT + 60`` seconds (a stuck audit). Plain
HTTP, no request body read, 5 s socket timeout; the NetworkPolicy admits only the
monitoring namespace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gate.audit.run import Auditor
from gate.webhook.settings import port_of

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, limit: float) -> None:
        self.limit, self.last = limit, time.monotonic()

    def beat(self) -> None:
        self.last = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self.last < self.limit


def serve_metrics(
    bind: str, render: Callable[[], bytes], heartbeat: Heartbeat
) -> ThreadingHTTPServer:
    """Start the metrics server on ``bind`` (host:port) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 5

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                self._answer(200, render(), "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/healthz":
                ok = heartbeat.alive()
                self._answer(200 if ok else 503, b"ok\n" if ok else b"audit stuck\n")
            else:
                self._answer(404, b"not found\n")

        def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    host = bind.rpartition(":")[0].strip("[]") or "0.0.0.0"
    server = ThreadingHTTPServer((host, port_of(bind)), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="gate-audit-metrics", daemon=True).start()
    return server


def run_every(
    auditor: Auditor, interval: float, stop: threading.Event, *, metrics_bind: str = ""
) -> int:
    """Audit until ``stop`` is set; 0 on a clean stop."""
    heartbeat = Heartbeat(interval + auditor.settings.audit.timeout + 60)
    server = (
        serve_metrics(metrics_bind, auditor.metrics.render, heartbeat) if metrics_bind else None
    )
    log.info("auditing every %g s", interval)
    try:
        while not stop.is_set():
            began = time.monotonic()
            heartbeat.beat()
            try:
                run = auditor.run()
                log.info("audit run: exit %d in %.1f s", run.exit_code, run.seconds)
            except Exception:  # a bug must not stop continuous validation
                log.exception("the audit run failed")
                auditor.metrics.failed(started=time.time(), seconds=time.monotonic() - began)
            heartbeat.beat()
            stop.wait(max(0.0, interval - (time.monotonic() - began)))
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        auditor.close()
    return 0
