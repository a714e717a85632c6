"""``gate verify`` for cosign signatures: the image's signatures checked against the trust.

What ``cosign verify --key`` does, with gate's trust settings (``--trusted-key`` /
``GATE_TRUSTED_KEYS``, ``GATE_SIGSTORE_TRUSTED_ROOT``): the image's signatures are read
from its registry (cosign's ``.sig`` tag, OCI referrers, Sigstore bundles), each verified
against the trusted keys or root and required to name the image's digest. The image is
verified when at least one signature is; the others are listed with the reason.

    >>> SignatureCheck((), ()).to_dict()
    {'verified': False, 'signatures': [], 'unverified': []}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gate.errors import ConfigError
from gate.facts.provenance.interface import SignatureFact, Unverified
from gate.facts.provenance.source import build_evidence_source
from gate.reference import ImageRef

if TYPE_CHECKING:
    from gate.config import Settings
    from gate.facts.registry import RegistryClient


@dataclass(frozen=True)
class SignatureCheck:
    signatures: tuple[SignatureFact, ...]
    unverified: tuple[Unverified, ...]

    @property
    def verified(self) -> bool:
        return bool(self.signatures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "signatures": [s.to_input() for s in self.signatures],
            "unverified": [u.to_input() for u in self.unverified],
        }

    def lines(self) -> list[str]:
        found = [f"  valid    signature by {_signer(s)} ({s.kind})" for s in self.signatures]
        return found + [f"  invalid  {u.reason}" for u in self.unverified]


def _signer(signature: SignatureFact) -> str:
    by = signature.verified_by
    return f"key {by.key}" if by.key else f"{by.subject} (issuer {by.issuer})"


def signature_checker(
    settings: Settings, registry: RegistryClient
) -> Callable[[ImageRef], SignatureCheck]:
    """Checks an image's signatures in its registry; a lookup failure raises (exit 2)."""
    trust = replace(settings.trust, provenance_sources=("registry",))
    source = build_evidence_source(replace(settings, trust=trust), registry)
    if source is None:
        raise ConfigError(
            "checking signatures needs trusted keys or a Sigstore trusted root",
            hint="pass --trusted-key (PEM file or gcpkms://…) or set GATE_TRUSTED_KEYS / "
            "GATE_SIGSTORE_TRUSTED_ROOT",
        )
    checker = source

    def check(ref: ImageRef) -> SignatureCheck:
        found = checker.evidence(ref, time.monotonic() + settings.fetch_timeout)
        if found.errors:
            raise found.errors[0]
        unverified = tuple(u for u in found.unverified if u.kind == "signature")
        return SignatureCheck(found.signatures, unverified)

    return check
