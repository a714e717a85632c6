"""``gate serve``: gunicorn's processes, each reading HTTP on an event loop (hypercorn).

gunicorn forks ``GATE_WORKERS`` workers of class :class:`gate.webhook.worker.GateWorker`:
each reads its connections asynchronously, with header and body deadlines and a cap on
connections, and hands only complete requests to the Flask app's ``GATE_THREADS`` threads.
TLS follows certificate rotation (:mod:`gate.webhook.tls`). Plain HTTP only with
``--insecure-http`` (``GATE_INSECURE_HTTP``), for local trials. ``GATE_METRICS_BIND`` moves
``/metrics`` to a port of its own (plain HTTP), so a NetworkPolicy can tell the two apart.

    $ gate serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key     # https://0.0.0.0:8443
    $ gate serve --insecure-http --bind 127.0.0.1:8080 \\
        --metadata samples/compliant-metadata.json --scan samples/trivy-clean.json

    >>> from gate.webhook.settings import WebhookSettings
    >>> options = gunicorn_options(Settings(webhook=WebhookSettings(insecure_http=True)))
    >>> options["worker_class"], options["bind"]
    ('gate.webhook.worker.GateWorker', ['0.0.0.0:8443'])
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from gate.config import Settings
from gate.errors import ConfigError
from gate.webhook.logging import configure_logging, gunicorn_log_config

log = logging.getLogger(__name__)
WORKER = "gate.webhook.worker.GateWorker"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn manages the processes; :class:`GateWorker` serves (TLS, limits, threads)."""
    webhook = settings.webhook
    binds = [webhook.bind, *([webhook.metrics_bind] if webhook.metrics_bind else [])]
    options: dict[str, Any] = {
        "bind": binds,
        "workers": webhook.workers,
        "worker_class": WORKER,
        "timeout": 30,  # a worker that misses its heartbeat this long is restarted
        "graceful_timeout": 20,
        "proc_name": "gate",
        "control_socket_disable": True,  # no ~/.gunicorn socket: read-only root filesystem
        "accesslog": None,
        "logconfig_dict": gunicorn_log_config(webhook.log_level),
        "child_exit": _child_exit,
    }
    return options


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class GateApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, factory: Callable[[Settings], Flask] | None = None):
        self.settings, self.factory = settings, factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        if self.factory is not None:
            return self.factory(self.settings)
        from gate.webhook.app import create_app

        return create_app(self.settings)


def prepare(settings: Settings) -> Settings:
    """Check the serving settings and set up the metrics folder; the settings to serve with."""
    webhook = settings.webhook
    if not webhook.tls_cert and not webhook.insecure_http:
        raise ConfigError(
            "gate serve needs a TLS certificate and key",
            hint="pass --tls-cert and --tls-key (GATE_TLS_CERT, GATE_TLS_KEY), or "
            "--insecure-http for a local trial",
        )
    for path in (webhook.tls_cert, webhook.tls_key):
        if path and not Path(path).is_file():
            raise ConfigError(f"TLS file {path} not found", hint="check --tls-cert/--tls-key")
    folder = webhook.metrics_dir or tempfile.mkdtemp(prefix="gate-metrics-")
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):  # a previous run's worker files
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # read by prometheus_client in each worker
    return replace(settings, webhook=replace(webhook, metrics_dir=folder))


def serve(settings: Settings, factory: Callable[[Settings], Flask] | None = None) -> int:
    """Run until stopped (SIGTERM: graceful); ConfigError before starting when misconfigured."""
    temporary = not settings.webhook.metrics_dir
    settings = prepare(settings)
    configure_logging(settings.webhook.log_level)
    log.info(
        "gate serving on %s (%s)",
        settings.webhook.bind,
        "TLS" if settings.webhook.tls_cert else "plain HTTP: local trials only",
    )
    arbiter = os.getpid()
    try:
        GateApplication(settings, factory).run()
    finally:
        # gunicorn's forked workers leave through this frame too: only the arbiter removes it
        if temporary and os.getpid() == arbiter:
            shutil.rmtree(settings.webhook.metrics_dir, ignore_errors=True)
    return 0
