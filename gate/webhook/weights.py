"""What an image's facts weigh in the facts cache, so that a worker holds a bounded number
of bytes of them, not only a bounded number of images.

An image's facts are mostly its scan findings (about 500 bytes each in memory, measured)
and its platforms' configs (up to ``MAX_CONFIG_BYTES`` each, as the registry serves them:
a label or an environment variable can be megabytes). With gate_regorus the embedded
engine also keeps the facts converted into regorus values for as long as they are kept
(gate.policy.converted: about 850 bytes a finding, measured). Findings are counted, the
rest is walked (:func:`json_bytes`) and counted twice. :class:`gate.webhook.cache.TTLCache`
adds the weights up and lets the least recently used go past ``GATE_FACTS_CACHE_BYTES``.

    >>> from gate.facts.interface import ImageFacts
    >>> from gate.reference import parse_reference
    >>> facts_weight((parse_reference("nginx:1.27"), ImageFacts())) < 4096
    True
    >>> json_bytes({"labels": {"a": "x" * 1_000_000}}) > 1_000_000
    True
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from gate.facts.interface import ImageFacts
from gate.reference import ImageRef

ENTRY_BYTES = 2048  # the entry, its reference, the facts and scan objects, besides the rest
PLATFORM_BYTES = 1024  # a platform's object and its short fields, besides its config
# A scan finding: its object and ten fields of its own (about 500 bytes measured with
# tracemalloc on parsed Artifact Analysis occurrences; tests/webhook/test_facts_weight.py),
# and its converted copy (about 850 bytes of RSS per finding, 1,000 findings converted).
FINDING_BYTES = 1536
CONVERTED = 2  # the rest of the facts is held twice: as Python objects and converted


def facts_weight(kept: tuple[ImageRef, ImageFacts]) -> int:
    """About the bytes one facts cache entry holds: a constant per finding and per platform,
    and what its configs and its supply-chain evidence hold, walked (twice: converted too)."""
    _, facts = kept
    weight = ENTRY_BYTES + PLATFORM_BYTES * len(facts.platforms)
    evidence = [facts.attestations, facts.provenance, facts.signatures, facts.unverified]
    weight += CONVERTED * json_bytes([[p.config for p in facts.platforms], evidence])
    if facts.vulnerabilities is not None:
        weight += FINDING_BYTES * len(facts.vulnerabilities.findings)
    return weight


def json_bytes(value: object) -> int:
    """About the bytes a JSON-like value holds: ``sys.getsizeof`` of every mapping, list,
    string and number in it, walked without recursion (a document can nest deeper than
    Python's stack). A value shared by several places is counted each time."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        total += sys.getsizeof(item)
        if isinstance(item, (dict, Mapping)):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total
