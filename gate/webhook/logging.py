"""JSON logs that Cloud Logging reads: one object per line, ``severity`` and ``message``.

Cloud Logging (GKE's logging agent) takes ``severity``, ``message`` and ``time`` from a
JSON line and keeps the other fields in ``jsonPayload``. Each review gives exactly one
decision line (logger ``gate.decision``) with the review uid, the object, every image with
its resolved digest, and the decision; a line is at most 64 KB, past that its findings are
summarised and it says so (:mod:`gate.webhook.logsize`). Objects, environment values and request bodies are
never logged: they can hold secrets.

    >>> import io
    >>> stream = io.StringIO()
    >>> logger = configure_logging("INFO", stream=stream)
    >>> logging.getLogger("gate.decision").warning("denied", extra={"fields": {"uid": "u1"}})
    >>> json.loads(stream.getvalue())["severity"], json.loads(stream.getvalue())["uid"]
    ('WARNING', 'u1')
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from gate.webhook.logsize import LINE_BYTES, clip, fit_decision, one_line

if TYPE_CHECKING:
    from gate.webhook.evaluator import ImageResult
    from gate.webhook.outcome import Outcome
    from gate.webhook.review import Review

SEVERITY = {"WARNING": "WARNING", "CRITICAL": "ALERT"}  # break-glass logs at ALERT
decision_log = logging.getLogger("gate.decision")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "severity": SEVERITY.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["stack_trace"] = self.formatException(record.exc_info)
        return one_line(json.dumps(line, default=str, ensure_ascii=False))


def configure_logging(level: str, *, stream: TextIO | None = None) -> logging.Logger:
    """Send the ``gate`` loggers to ``stream`` (stderr) as JSON lines, at ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("gate")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    return root


def gunicorn_log_config(level: str) -> dict[str, Any]:
    """A ``logconfig_dict`` that makes gunicorn's own logs JSON lines too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "hypercorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def log_decision(
    review: Review, outcome: Outcome, results: Sequence[ImageResult], seconds: float
) -> None:
    """The review's one decision line: ALERT for break-glass, WARNING for a deny."""
    fields = {
        "uid": review.uid,
        "operation": review.operation,
        "kind": review.kind,
        "namespace": review.namespace,
        "name": review.name,
        "user": review.user,
        "dry_run": review.dry_run,
        "decision": "allow" if outcome.allowed else "deny",
        "mode": outcome.route,
        "images": [
            {
                "image": r.image,
                "digest": r.digest,
                "containers": [c.name for c in r.containers],
                "allowed": r.decision.allowed,
            }
            for r in results
        ],
        "findings": [
            {
                "mode": i.mode.value,
                "code": i.code,
                "container": i.container,
                "image": i.image,
                "text": i.text,
            }
            for i in outcome.items
        ],
        "elapsed_ms": round(seconds * 1000, 3),
    }
    level = logging.INFO
    if outcome.route == "break-glass":
        level = logging.CRITICAL
    elif not outcome.allowed or outcome.route == "fail-open":
        level = logging.WARNING
    summary = (
        f"{fields['decision']} {review.operation} {review.kind} {review.namespace}/{review.name}"
    )
    if outcome.route == "break-glass":
        summary = f"BREAK-GLASS: admitted without enforcement: {summary}"
    fitted = fit_decision(fields)
    if fitted is not fields:
        summary = clip(summary, 512) + (
            f" (log line cut to {LINE_BYTES // 1024} KB: {len(outcome.items)} findings and "
            f"{len(results)} images summarised, see findings_by_policy)"
        )
    decision_log.log(level, summary, extra={"fields": fitted})
