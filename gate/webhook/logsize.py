"""Decision log lines that survive Cloud Logging: at most 64 KB each.

A line the container runtime or the logging agent would split (or Cloud Logging refuse) is
lost for alerting and audit. :func:`fit_decision` returns the decision fields as they are
when their JSON fits ``LINE_BYTES`` (less room for the envelope: severity, message, time,
logger); past that it summarises: ``findings`` keeps the first ``FIRST_FINDINGS`` (each text
and image cut to a few hundred characters), ``findings_by_policy`` counts every finding by
policy, ``images`` keeps the first ones, long strings are cut, and ``truncated: true`` plus
the totals say what was left out. Fewer are kept until the line fits.

    >>> many = [{"mode": "enforce", "code": "GATE-REF-001", "container": "c", "image": "i",
    ...          "text": "x" * 1000} for _ in range(500)]
    >>> fitted = fit_decision({"uid": "u", "images": [], "findings": many})
    >>> fitted["truncated"], fitted["findings_total"], fitted["findings_by_policy"]
    (True, 500, {'GATE-REF-001': 500})
    >>> len(json.dumps(fitted)) <= FIELDS_BYTES
    True
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

LINE_BYTES = 64 * 1024
FIELDS_BYTES = LINE_BYTES - 2048  # the envelope and the summary message
FIRST_FINDINGS = 50
FIRST_IMAGES = 50
TEXT_CHARS = 500
NAME_CHARS = 256


# Characters that JSON leaves as they are and that some readers take for the end of a
# line (Python's str.splitlines, JavaScript): escaped, so that a line stays one line
# whatever the image or name it quotes.
LINE_BREAKS = "\x85\u2028\u2029"  # (JSON escapes every control character below 0x20)


def one_line(text: str) -> str:
    """``text`` (JSON) with :data:`LINE_BREAKS` written as escapes."""
    for c in LINE_BREAKS:
        if c in text:
            text = text.replace(c, f"\\u{ord(c):04x}")
    return text


def size(fields: dict[str, Any]) -> int:
    """Bytes of ``fields`` as the JSON formatter writes them (UTF-8, not ASCII-escaped)."""
    return len(one_line(json.dumps(fields, default=str, ensure_ascii=False)).encode())


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def fit_decision(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` when they fit in one log line, else their summary (``truncated: true``)."""
    if size(fields) <= FIELDS_BYTES:
        return fields
    findings: list[dict[str, Any]] = list(fields.get("findings", ()))
    images: list[dict[str, Any]] = list(fields.get("images", ()))
    summary = {
        **{k: clip(v, NAME_CHARS) if isinstance(v, str) else v for k, v in fields.items()},
        "truncated": True,
        "findings_total": len(findings),
        "findings_by_policy": dict(Counter(str(f.get("code", "")) for f in findings)),
        "images_total": len(images),
    }
    keep_findings, keep_images, text = FIRST_FINDINGS, FIRST_IMAGES, TEXT_CHARS
    while True:
        summary["findings"] = [_short(f, text) for f in findings[:keep_findings]]
        summary["images"] = [_short(i, text) for i in images[:keep_images]]
        if size(summary) <= FIELDS_BYTES or (keep_findings, keep_images, text) == (0, 0, 0):
            return summary
        keep_findings, keep_images, text = keep_findings // 2, keep_images // 2, text // 2


def _short(item: dict[str, Any], chars: int) -> dict[str, Any]:
    short: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, str):
            short[key] = clip(value, chars)
        elif isinstance(value, list):  # an image's containers
            short[key] = [clip(str(v), chars) for v in value[:FIRST_IMAGES]]
        else:
            short[key] = value
    return short
