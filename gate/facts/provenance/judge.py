"""From found artifacts to facts: verify, then read what the verified bytes say.

Each artifact gate finds is one of three kinds (told by its layer's media type, the same
whether it came from a cosign tag, an OCI referrer or Artifact Analysis): a cosign
simple-signing signature, a DSSE envelope, or a Sigstore bundle. :class:`Judge` verifies
it with the deployment's trust and turns what verified into a :class:`Provenance` or a
:class:`SignatureFact`; anything else becomes :class:`Unverified` with the reason. An in-toto
statement of cosign v3's signing predicate is a signature when its subject is the image.

    >>> judge = Judge(keys=(), keyless=None)
    >>> found = judge.envelope(b'{"payloadType": "t", "payload": "e30=", "signatures": []}',
    ...                        origin="registry", image_digest="sha256:" + "a" * 64)
    >>> found.reason
    'DSSE envelope: the envelope carries no signature'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gate.facts import ShapeError
from gate.facts.provenance.bundle import KeylessVerifier, VerifiedPayload, read_bundle
from gate.facts.provenance.cosign import verify_simple_signing
from gate.facts.provenance.dsse import Envelope, parse_envelope, verify_envelope
from gate.facts.provenance.interface import (
    INTOTO_PAYLOAD_TYPE,
    Provenance,
    SignatureFact,
    Unverified,
    VerifiedBy,
)
from gate.facts.provenance.keys import TrustedKey
from gate.facts.provenance.statement import read_header, read_statement

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
Fact = Provenance | SignatureFact | Unverified


@dataclass(frozen=True)
class Judge:
    """The deployment's trust: keys, and the keyless verifier (None: no trusted root)."""

    keys: Sequence[TrustedKey]
    keyless: KeylessVerifier | None

    def simple_signing(
        self, payload: bytes, signature: str, *, origin: str, image_digest: str, keyless: bool
    ) -> Fact:
        return verify_simple_signing(
            payload,
            signature,
            keys=self.keys,
            image_digest=image_digest,
            origin=origin,
            keyless=keyless,
        )

    def envelope(self, raw: bytes, *, origin: str, image_digest: str) -> Fact | None:
        try:
            envelope = parse_envelope(raw)
        except ShapeError as exc:
            return Unverified("provenance", origin, f"DSSE envelope: malformed ({exc})")
        return self.parsed_envelope(envelope, origin=origin, image_digest=image_digest)

    def parsed_envelope(self, envelope: Envelope, *, origin: str, image_digest: str) -> Fact | None:
        verification = verify_envelope(envelope, self.keys)
        if verification.key is None:
            return Unverified("provenance", origin, f"DSSE envelope: {verification.reason()}")
        by = VerifiedBy(key=verification.key.id)
        verified = VerifiedPayload(envelope.payload_type, envelope.payload, by)
        return statement_fact(verified, origin=origin, image_digest=image_digest)

    def bundle(self, raw: bytes, *, origin: str, image_digest: str) -> Fact | None:
        found = read_bundle(raw, keys=self.keys, verifier=self.keyless, origin=origin)
        if isinstance(found, Unverified):
            return found
        return statement_fact(found, origin=origin, image_digest=image_digest)


def statement_fact(verified: VerifiedPayload, *, origin: str, image_digest: str) -> Fact | None:
    """What a verified in-toto payload is: provenance, a cosign v3 signature, or nothing
    gate reads (``None``: an SBOM, a scan report)."""
    if verified.payload_type != INTOTO_PAYLOAD_TYPE:
        return Unverified(
            "provenance", origin, f"payload type {verified.payload_type!r} is not in-toto"
        )
    try:
        _, predicate_type, subjects = read_header(verified.payload)
        if predicate_type == COSIGN_SIGN_PREDICATE:
            digests = {s.digest for s in subjects}
            if image_digest not in digests:
                return Unverified(
                    "signature",
                    origin,
                    f"signature statement names {sorted(digests)}, not {image_digest}",
                )
            return SignatureFact("sigstore-bundle", image_digest, origin, verified.verified_by)
        claims = read_statement(verified.payload)
    except ShapeError as exc:
        return Unverified("provenance", origin, f"in-toto statement: malformed ({exc})")
    if claims is None:
        return None
    return Provenance.of(claims, origin, verified.verified_by)
