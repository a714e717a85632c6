"""The production :class:`AttestationVerifier`: gate's own attestation check, locally.

Reads each attestor (note and PKIX keys) from Binary Authorization, lists the image's
ATTESTATION occurrences on the attestor's note in Container Analysis, and verifies them
with :func:`gate.attest.verify.verify_image` (payload digest and repository, signature
against the attestor's keys): no call to Binary Authorization's own validation. Attestors
are kept for ten minutes; verdicts are cached by :class:`CachedVerifier`.

    >>> from gate.config import Settings
    >>> from gate.webhook.settings import WebhookSettings
    >>> settings = Settings(webhook=WebhookSettings(required_attestors=("projects/p/attestors/a",),
    ...     attestation_endpoint="127.0.0.1:1", attestation_plaintext=True))
    >>> build_requirement(settings).attestors  # no I/O until the first review
    ('projects/p/attestors/a',)
"""

from __future__ import annotations

import threading
import time
from typing import Any

from gate.attest.attestor import Attestor
from gate.config import Settings
from gate.facts.google import GoogleEndpoint
from gate.reference import ImageRef
from gate.webhook.attestation import AttestationRequirement, AttestationVerifier, CachedVerifier
from gate.webhook.cache import TimedOut, TTLCache

ATTESTOR_TTL = 600.0


class BinauthzVerifier(AttestationVerifier):
    def __init__(self, endpoint: GoogleEndpoint) -> None:
        self.endpoint = endpoint.validated()
        self._attestors: TTLCache[str, Attestor] = TTLCache(size=64, ttl=ATTESTOR_TTL)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def verify(self, ref: ImageRef, attestor: str, deadline: float) -> bool:
        from gate.attest.store import OccurrenceStore
        from gate.attest.verify import verify_image

        found = self._attestor(attestor, deadline)
        store = OccurrenceStore(self._client("grafeas"), found.project, timeout=_left(deadline))
        return verify_image(ref, found, store, timeout=_left(deadline)).verified

    def _attestor(self, name: str, deadline: float) -> Attestor:
        from gate.attest.binauthz import read_attestor

        attestor = self._attestors.get(name)
        if attestor is None:
            attestor = read_attestor(self._client("binauthz"), name, timeout=_left(deadline))
            self._attestors.put(name, attestor)
        return attestor

    def _client(self, which: str) -> Any:
        from gate.attest.clients import binauthz_client, grafeas_client

        with self._lock:
            if which not in self._clients:
                make = binauthz_client if which == "binauthz" else grafeas_client
                self._clients[which] = make(self.endpoint)
            return self._clients[which]


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut(
            "the time budget ran out before the attestations were verified",
            hint="Container Analysis or Binary Authorization is slow; see the upstream metrics",
        )
    return left


def build_requirement(settings: Settings) -> AttestationRequirement | None:
    """The attestation requirement ``settings`` ask for, or None when it is off."""
    webhook = settings.webhook
    if not webhook.required_attestors:
        return None
    endpoint = GoogleEndpoint(
        api_endpoint=webhook.attestation_endpoint,
        plaintext=webhook.attestation_plaintext,
        anonymous=webhook.attestation_plaintext,
    )
    cache: TTLCache[tuple[str, str], bool] = TTLCache(
        size=webhook.facts_cache_size, ttl=webhook.attestation_cache_ttl
    )
    verifier = CachedVerifier(BinauthzVerifier(endpoint), cache)
    return AttestationRequirement(webhook.required_attestors, verifier)
