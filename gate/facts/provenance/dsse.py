"""DSSE envelopes: parse, and verify against trusted keys over the pre-authentication encoding.

A signature counts only over ``PAE(payloadType, payload)`` (DSSE v1), never over the
payload alone, so a payload cannot be replayed under another type. ``keyid`` is a hint
(it picks the key to try first), never a reason to trust: every signature is checked
against the trusted keys themselves.

    >>> pae("application/vnd.in-toto+json", b"{}")
    b'DSSEv1 28 application/vnd.in-toto+json 2 {}'
    >>> env = parse_envelope(b'{"payloadType": "t", "payload": "e30=", "signatures": []}')
    >>> env.payload, verify_envelope(env, ()).key is None
    (b'{}', True)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from gate.facts import ShapeError, arr, obj, parse_json, text
from gate.facts.provenance.keys import TrustedKey

MAX_ENVELOPE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class EnvelopeSignature:
    sig: bytes
    keyid: str = ""


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]


@dataclass(frozen=True)
class Verification:
    """The trusted key that verified the envelope (``None``: none did), and the keyids seen."""

    key: TrustedKey | None
    keyids: tuple[str, ...]

    def reason(self) -> str:
        """Why the envelope does not count, for people."""
        if not self.keyids:
            return "the envelope carries no signature"
        ids = ", ".join(k or "(no keyid)" for k in self.keyids)
        return f"no trusted key verifies its signature(s) (keyid {ids}): unknown key or altered content"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def b64decode(value: str, where: str) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE producers write both)."""
    cleaned = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ShapeError(f"{where}: not base64") from exc


def parse_envelope(data: bytes) -> Envelope:
    """A DSSE envelope from its JSON; :class:`ShapeError` naming what is wrong."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise ShapeError(f"envelope is {len(data)} bytes, over the {MAX_ENVELOPE_BYTES} read")
    doc = obj(parse_json(data), "envelope")
    signatures = tuple(
        EnvelopeSignature(
            b64decode(text(obj(s, f"signatures[{i}]").get("sig"), f"signatures[{i}].sig"), "sig"),
            str(s.get("keyid") or ""),
        )
        for i, s in enumerate(arr(doc.get("signatures"), "signatures"))
    )
    return Envelope(
        text(doc.get("payloadType"), "payloadType"),
        b64decode(text(doc.get("payload"), "payload"), "payload"),
        signatures,
    )


def verify_envelope(envelope: Envelope, keys: Sequence[TrustedKey]) -> Verification:
    """The first trusted key that verifies one of the envelope's signatures over its PAE."""
    message = pae(envelope.payload_type, envelope.payload)
    keyids = tuple(s.keyid for s in envelope.signatures)
    for signature in envelope.signatures:
        hinted = sorted(keys, key=lambda k: k.id != signature.keyid)
        for key in hinted:
            if key.verify(message, signature.sig):
                return Verification(key, keyids)
    return Verification(None, keyids)
