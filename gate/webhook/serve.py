"""``gate serve``: the webhook under gunicorn, threaded workers, TLS that follows rotation.

Every new connection takes the current TLS context; the context is rebuilt when the
certificate or key file changes (cert-manager renewing the Secret, a kubelet swapping the
mounted files), checked at most once a second. A half-written pair that does not load
keeps the previous context in force and logs an error. Plain HTTP only with
``--insecure-http`` (``GATE_INSECURE_HTTP``), for local trials.

    $ gate serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key     # https://0.0.0.0:8443
    $ gate serve --insecure-http --bind 127.0.0.1:8080 \\
        --metadata samples/compliant-metadata.json --scan samples/trivy-clean.json

    >>> from gate.webhook.settings import WebhookSettings
    >>> options = gunicorn_options(Settings(webhook=WebhookSettings(insecure_http=True)))
    >>> options["worker_class"], options["bind"]
    ('gthread', ['0.0.0.0:8443'])
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import threading
import time
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
RELOAD_CHECK_SECONDS = 1.0


class ReloadingContext:
    """An SSL context for ``cert`` and ``key``, rebuilt when either file changes."""

    def __init__(self, cert: str, key: str) -> None:
        self.cert, self.key = cert, key
        self._lock = threading.Lock()
        self._stamp = self._files()
        self._context = self._build()
        self._checked = time.monotonic()

    def get(self) -> ssl.SSLContext:
        if time.monotonic() - self._checked < RELOAD_CHECK_SECONDS:
            return self._context
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._files()
            if stamp != self._stamp:
                try:
                    self._context = self._build()
                    self._stamp = stamp
                    log.warning("TLS certificate reloaded from %s", self.cert)
                except (OSError, ssl.SSLError) as exc:
                    log.error("TLS files changed but do not load (keeping the old ones): %s", exc)
        return self._context

    def _files(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in (self.cert, self.key):
            try:
                info = os.stat(path)
            except OSError:
                stamps.append((0, 0, 0))
                continue
            stamps.append((info.st_ino, info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def _build(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certfile=self.cert, keyfile=self.key)
        context.set_alpn_protocols(["http/1.1"])
        return context


_CONTEXTS: dict[tuple[str, str], ReloadingContext] = {}


def ssl_context(config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """gunicorn's ``ssl_context`` hook: the worker's reloading context for the configured files."""
    key = (str(config.certfile), str(config.keyfile))
    if key not in _CONTEXTS:
        _CONTEXTS[key] = ReloadingContext(*key)
    return _CONTEXTS[key].get()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    webhook = settings.webhook
    options: dict[str, Any] = {
        "bind": [webhook.bind],
        "workers": webhook.workers,
        "worker_class": "gthread",
        "threads": webhook.threads,
        "keepalive": 30,
        "timeout": 30,
        "graceful_timeout": 20,
        "proc_name": "gate",
        "control_socket_disable": True,  # no ~/.gunicorn socket: read-only root filesystem
        "accesslog": None,
        "logconfig_dict": gunicorn_log_config(webhook.log_level),
        "child_exit": _child_exit,
    }
    if webhook.tls_cert:
        options.update(certfile=webhook.tls_cert, keyfile=webhook.tls_key, ssl_context=ssl_context)
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
    settings = prepare(settings)
    configure_logging(settings.webhook.log_level)
    log.info(
        "gate serving on %s (%s)",
        settings.webhook.bind,
        "TLS" if settings.webhook.tls_cert else "plain HTTP: local trials only",
    )
    GateApplication(settings, factory).run()
    return 0
