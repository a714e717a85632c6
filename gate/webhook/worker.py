"""gunicorn's worker for ``gate serve``: HTTP read on an event loop (hypercorn), app on threads.

gunicorn stays the process manager (workers forked, restarted when they die, graceful stop,
prometheus files of dead workers removed, JSON logs); inside each worker, hypercorn's HTTP/1.1
server reads every connection on one asyncio loop, and :class:`~gate.webhook.bridge.WsgiBridge`
hands only complete requests to the Flask app's threads. The limits that keep slow and idle
clients from holding anything that matters:

- **headers**: a request's headers must be complete ``GATE_HEADER_TIMEOUT`` seconds after the
  TLS handshake or after the previous answer on the connection (hypercorn's idle timer, which
  the bytes a client trickles do not restart); so an idle keep-alive connection is closed
  after that time too. The TLS handshake has the same deadline, and so has TLS's closing
  handshake: a client that never answers it holds the socket that long, not the 30 s of
  asyncio's default.
- **body**: complete ``GATE_BODY_TIMEOUT`` seconds after the headers, at most
  ``GATE_MAX_BODY`` bytes (the bridge).
- **answer**: each write of it taken by the client within ``GATE_BODY_TIMEOUT`` seconds, or
  the connection is dropped; what a client pipelined is dropped once its connection is.
- **connections** (:mod:`gate.webhook.connections`): at most ``GATE_MAX_CONNECTIONS`` per
  worker. A new connection past it closes the one that has waited longest for a request
  (idle keep-alive or stalled in its headers, closed at once, without TLS's closing
  handshake); only when every connection is busy with a request is the new one refused.
- **memory**: a finished connection's buffers go when it ends (not at hypercorn's idle
  timer or Python's next full collection), and what the heap then holds free is given
  back to the system (:mod:`gate.webhook.heap`).

    $ gate serve --tls-cert tls.crt --tls-key tls.key      # gunicorn_options() picks GateWorker
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from gunicorn.workers.base import Worker  # type: ignore[import-untyped]
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config

from gate.config import Settings
from gate.webhook.bridge import Route, WsgiBridge
from gate.webhook.connections import Connection, Connections
from gate.webhook.heap import HeapTrimmer
from gate.webhook.http1 import serve_http1_only
from gate.webhook.settings import port_of
from gate.webhook.tls import serving_context

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0
# In normal service a worker's heap holds a few MB free; a flood of connections leaves
# hundreds (gate.webhook.heap).
TRIM_EVERY_SECONDS = 2.0
TRIM_OVER_BYTES = 32 << 20


class GateWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker serving the app with hypercorn on asyncio (uvloop when installed)."""

    def run(self) -> None:
        serve_http1_only()
        frozen = freeze_startup_objects()
        log.info("gate worker %d: %d objects of the loaded app frozen", os.getpid(), frozen)
        trimmer = HeapTrimmer.for_this_process(every=TRIM_EVERY_SECONDS, over=TRIM_OVER_BYTES)
        if trimmer is not None:
            trimmer.start()
        settings: Settings = self.app.settings
        try:
            import uvloop

            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        except ImportError:  # pragma: no cover - uvloop is pinned in requirements.txt
            runner = asyncio.Runner()
        with runner:
            runner.get_loop().set_exception_handler(_quiet_handshake_errors)
            runner.run(self._serve(settings))

    async def _serve(self, settings: Settings) -> None:
        webhook = settings.webhook
        pool = ThreadPoolExecutor(webhook.threads, thread_name_prefix="gate-http")
        config = hypercorn_config(settings)
        context = WorkerContext(None)
        connections = Connections(webhook.max_connections)
        tls = serving_context(webhook.tls_cert, webhook.tls_key) if webhook.tls_cert else None
        metrics_port = port_of(webhook.metrics_bind) if webhook.metrics_bind else None
        servers = []
        for listener in self.sockets:
            sock = listener.sock
            on_metrics = metrics_port is not None and sock.getsockname()[1] == metrics_port
            serves: Route = _metrics_only if on_metrics else _without_metrics(metrics_port)
            bridge = WsgiBridge(
                self.wsgi,
                pool,
                max_body=webhook.max_body,
                max_bodies=webhook.max_bodies,
                body_timeout=webhook.body_timeout,
                serves=serves,
            )
            app = ASGIWrapper(cast(Any, bridge))  # hypercorn's ASGI types are narrower

            async def accept(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, app: Any = app
            ) -> None:
                if not connections.make_room():
                    writer.close()
                    return
                connection = Connection(
                    app,
                    asyncio.get_running_loop(),
                    config,
                    context,
                    {},
                    reader,
                    writer,
                    write_timeout=webhook.body_timeout,
                )
                connections.open.add(connection)
                try:
                    await connection
                finally:
                    connections.open.discard(connection)

            secure = tls if not on_metrics else None
            servers.append(
                await asyncio.start_server(
                    accept,
                    sock=sock,
                    ssl=secure,
                    ssl_handshake_timeout=webhook.header_timeout if secure else None,
                    ssl_shutdown_timeout=webhook.header_timeout if secure else None,
                    backlog=2048,
                )
            )
        await self._until_stopped()
        await self._stop(servers, context, connections, pool)

    async def _until_stopped(self) -> None:
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                log.warning("gate worker %d: parent changed, stopping", os.getpid())
                return
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _stop(
        self,
        servers: list[asyncio.Server],
        context: WorkerContext,
        connections: Connections,
        pool: ThreadPoolExecutor,
    ) -> None:
        for server in servers:
            server.close()
        await context.terminated.set()  # connections close once their request is answered
        deadline = time.monotonic() + self.cfg.graceful_timeout
        for connection in list(connections.open):
            if connection.waiting_since is not None:
                connection.drop()
        while connections.open and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        pool.shutdown(wait=False, cancel_futures=True)


def freeze_startup_objects() -> int:
    """Move what the worker has loaded (modules, the app, its policies) out of the cyclic
    garbage collector's sight, as it lives as long as the worker; how many objects.

    Each request leaves a reference cycle behind (werkzeug's router matches with a
    recursive closure), and with requests in flight on other threads some of it reaches
    the oldest generation. That generation is collected only once it has grown by a
    quarter of what it holds, and it holds the app's hundred thousand objects: tens of
    megabytes of garbage per worker, then a full collection that holds the GIL for about
    100 ms while every review waits. Frozen, those objects are neither counted nor
    traversed: the garbage goes after a few thousand requests, in a pass over a few
    thousand objects. (A frozen object is still freed when nothing refers to it; only a
    cycle of them would stay, and the loaded app is not dropped.)
    """
    gc.collect()
    gc.freeze()
    gc.collect()  # what the next full collection waits on is counted from here
    return gc.get_freeze_count()


def hypercorn_config(settings: Settings) -> Config:
    webhook = settings.webhook
    config = Config()
    config.keep_alive_timeout = webhook.header_timeout
    config.read_timeout = None  # the header timer and the bridge's body deadline bound reads
    config.h11_max_incomplete_size = 16 * 1024  # request line and headers
    config.include_server_header = False
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.alpn_protocols = ["http/1.1"]
    return config


def _metrics_only(path: str) -> bool:
    return path == "/metrics"


def _without_metrics(metrics_port: int | None) -> Route:
    if metrics_port is None:
        return lambda path: True
    return lambda path: path != "/metrics"


def _quiet_handshake_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failed TLS handshakes (scanners, clients that do not trust the CA) are not errors."""
    if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
        return
    loop.default_exception_handler(context)
