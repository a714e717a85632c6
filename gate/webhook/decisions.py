"""The decision cache's entries: their keys and their weights.

A decision is kept under :func:`decision_key`, a SHA-256 of the image as written and the
workload context the policies see, so a key is 32 bytes however large the object's
annotations. :func:`decision_weight` estimates the bytes an entry holds, so that
``gate serve``'s cache (:class:`gate.webhook.cache.TTLCache`) holds at most
``DECISIONS_MAX_BYTES`` per worker.

    >>> from gate.policy.interface import Decision
    >>> len(decision_key("nginx:1.27", {"namespace": "default"}))
    32
    >>> decision_weight(("", Decision(allowed=True))) < 2048
    True
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from typing import Any

from gate.policy.interface import Decision, Finding

Key = bytes  # SHA-256 of the image as written and the workload context (decision_key)
Kept = tuple[str, Decision]  # a decision cache entry: the digest evaluated, the decision
DECISIONS_MAX_BYTES = 32 * 1024 * 1024  # the decision cache's entries per worker, in all
ENTRY_BYTES = 1024  # an entry's key, tuple, Decision and bookkeeping, besides its results
RESULT_BYTES = 600  # a result's object and its fields, besides their texts
# A scan finding a result lists: a dict of the schema's ten fields with keys of its own
# (1,360 bytes each measured with tracemalloc; summing their sizes would cost 3 us each).
FINDING_BYTES = 1400


def decision_weight(kept: Kept) -> int:
    """About the bytes a decision cache entry holds (an allow about 1 KB, each result
    about 1.5 KB more): the sizes of its results' texts (which quote the image and the
    container, as long as a direct client makes them), and ``FINDING_BYTES`` for each
    scan finding they list. Under a microsecond for an allow."""
    digest, decision = kept
    weight = ENTRY_BYTES + sys.getsizeof(digest)
    for result in (*decision.violations, *decision.warnings, *decision.exempted):
        weight += RESULT_BYTES + sum(map(sys.getsizeof, _texts(result)))
        weight += FINDING_BYTES * len(result.findings)
    return weight


def _texts(result: Finding) -> tuple[str, ...]:
    return (
        result.message,
        result.image,
        result.container,
        result.platform,
        result.reason,
        result.title,
        result.remediation,
    )


def decision_key(image: str, workload: Mapping[str, Any]) -> Key:
    """The decision cache's key: everything the policies see of a container, as canonical
    JSON, hashed, so that its size does not depend on the workload's."""
    context = json.dumps([image, workload], sort_keys=True, default=str)  # ASCII only
    return hashlib.sha256(context.encode()).digest()
