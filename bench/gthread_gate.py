#!/usr/bin/env python3
"""``gate serve`` as it ran before issue 12: gunicorn's ``gthread`` worker, whose threads read
each request themselves. For bench/admission.py's before/after figures only: it has none of
the read deadlines, so a slow client holds a thread (docs/webhook.md, "Serving").

    python bench/gthread_gate.py --bind 127.0.0.1:8443 --tls-cert c.pem --tls-key k.pem
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gate import cli
from gate.config import Settings
from gate.webhook import serve
from gate.webhook.tls import ReloadingContext

_CONTEXTS: dict[tuple[str, str], ReloadingContext] = {}
_CURRENT = serve.gunicorn_options


def ssl_context(config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """gunicorn's ``ssl_context`` hook, as before: the reloading context of the files."""
    key = (str(config.certfile), str(config.keyfile))
    if key not in _CONTEXTS:
        _CONTEXTS[key] = ReloadingContext(*key)
    return _CONTEXTS[key].get()


def gthread_options(settings: Settings) -> dict[str, Any]:
    webhook = settings.webhook
    options = _CURRENT(settings)
    options.update(worker_class="gthread", threads=webhook.threads, keepalive=30)
    if webhook.tls_cert:
        options.update(certfile=webhook.tls_cert, keyfile=webhook.tls_key, ssl_context=ssl_context)
    return options


if __name__ == "__main__":
    serve.gunicorn_options = gthread_options
    sys.exit(cli.main(["serve", *sys.argv[1:]]))
