"""Sigstore bundles: keyless ones verified by sigstore-python, keyed ones by a trusted key.

A keyless bundle (a Fulcio certificate, a Rekor entry) is verified with sigstore-python's
:class:`~sigstore.verify.Verifier` against the trusted root the deployment supplies
(``GATE_SIGSTORE_TRUSTED_ROOT``: Sigstore's ``trusted_root.json``, or a private
deployment's): certificate chain at the signing time, SCT, transparency log inclusion
proof and promise, and the DSSE signature. The identity (OIDC issuer and certificate
subject) is then read from the verified certificate; which identities are acceptable is
the signature policy's business (``data.gate.params.signatures.identities``). A bundle
with a public key instead of a certificate counts when a trusted key verifies its DSSE
envelope (its transparency log entry is not checked, as with ``cosign verify --key``
without a log).

    >>> read_bundle(b'{"mediaType": "x"}', keys=(), verifier=None).reason
    'Sigstore bundle: no DSSE envelope (gate reads attestations and cosign v3 signatures from bundles)'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from gate.facts import ShapeError, obj, parse_json
from gate.facts.provenance.dsse import Envelope, EnvelopeSignature, b64decode, verify_envelope
from gate.facts.provenance.interface import ProvenanceError, Unverified, VerifiedBy
from gate.facts.provenance.keys import TrustedKey

BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OTHERNAME = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


@dataclass(frozen=True)
class VerifiedPayload:
    payload_type: str
    payload: bytes
    verified_by: VerifiedBy


class KeylessVerifier:
    """sigstore-python's verifier over one trusted root file (loaded once)."""

    def __init__(self, trusted_root: str) -> None:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import TrustedRoot
        from sigstore.verify import Verifier

        try:
            self._verifier = Verifier(trusted_root=TrustedRoot.from_file(trusted_root))
        except (OSError, ValueError, SigstoreError) as exc:
            raise ProvenanceError(
                f"cannot use the Sigstore trusted root {trusted_root}: {exc}",
                hint="GATE_SIGSTORE_TRUSTED_ROOT names a trusted_root.json "
                "(media type application/vnd.dev.sigstore.trustedroot+json;version=0.1)",
            ) from exc

    def verify(self, raw: bytes) -> VerifiedPayload:
        """The DSSE payload of a keyless bundle and its signer; ValueError if it fails."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle

        try:
            bundle = Bundle.from_json(raw)
            payload_type, payload = self._verifier.verify_dsse(bundle, _IdentityByPolicy())
        except (SigstoreError, ValueError) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from exc
        issuer, subject = identity_of(bundle.signing_certificate)
        return VerifiedPayload(payload_type, payload, VerifiedBy(issuer=issuer, subject=subject))


class _IdentityByPolicy:
    """sigstore-python's verification policy hook: every other check of the certificate
    is made by the verifier; which identities are acceptable is decided by the Rego
    signature policy, on the identity read from the verified certificate."""

    def verify(self, certificate: x509.Certificate) -> None:
        return None


def read_bundle(
    raw: bytes, *, keys: Sequence[TrustedKey], verifier: KeylessVerifier | None, origin: str = ""
) -> VerifiedPayload | Unverified:
    """The verified payload of a bundle, or why it does not count."""

    def refused(reason: str) -> Unverified:
        return Unverified("signature", origin, f"Sigstore bundle: {reason}")

    try:
        doc = obj(parse_json(raw), "bundle")
        material = obj(doc.get("verificationMaterial"), "verificationMaterial", nullable=True)
        envelope = doc.get("dsseEnvelope")
        if not isinstance(envelope, dict):
            return refused(
                "no DSSE envelope (gate reads attestations and cosign v3 signatures from bundles)"
            )
        if "publicKey" in material:
            return _keyed(_envelope(envelope), keys, refused)
    except ShapeError as exc:
        return refused(f"malformed ({exc})")
    if verifier is None:
        return refused(
            "keyless, and no Sigstore trusted root is configured (GATE_SIGSTORE_TRUSTED_ROOT)"
        )
    try:
        return verifier.verify(raw)
    except ValueError as exc:
        return refused(f"did not verify against the Sigstore trusted root: {exc}")


def _keyed(
    envelope: Envelope, keys: Sequence[TrustedKey], refused: Any
) -> VerifiedPayload | Unverified:
    verification = verify_envelope(envelope, keys)
    if verification.key is None:
        return refused(verification.reason())  # type: ignore[no-any-return]
    by = VerifiedBy(key=verification.key.id)
    return VerifiedPayload(envelope.payload_type, envelope.payload, by)


def _envelope(raw: dict[str, Any]) -> Envelope:
    signatures = tuple(
        EnvelopeSignature(b64decode(str(s.get("sig", "")), "sig"), str(s.get("keyid") or ""))
        for s in raw.get("signatures") or []
        if isinstance(s, dict)
    )
    payload = b64decode(str(raw.get("payload", "")), "dsseEnvelope.payload")
    return Envelope(str(raw.get("payloadType", "")), payload, signatures)


def identity_of(certificate: x509.Certificate) -> tuple[str, str]:
    """(OIDC issuer, subject) of a Fulcio certificate: the issuer extension (v2, else v1)
    and the first SAN (email, URI, or Sigstore's other name)."""
    extensions = {ext.oid: ext.value for ext in certificate.extensions}
    issuer = ""
    if isinstance(v2 := extensions.get(_ISSUER_V2), x509.UnrecognizedExtension):
        issuer = _utf8_string(v2.value)
    elif isinstance(v1 := extensions.get(_ISSUER_V1), x509.UnrecognizedExtension):
        issuer = v1.value.decode("utf-8", "replace")
    names = extensions.get(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    subject = ""
    if isinstance(names, x509.SubjectAlternativeName):
        found = names.get_values_for_type(x509.RFC822Name) + names.get_values_for_type(
            x509.UniformResourceIdentifier
        )
        others = [
            o.value for o in names.get_values_for_type(x509.OtherName) if o.type_id == _OTHERNAME
        ]
        subject = (found or [_utf8_string(v) for v in others] or [""])[0]
    return issuer, subject


def _utf8_string(der: bytes) -> str:
    """The text of a DER UTF8String (tag 0x0c, short or long length)."""
    if len(der) < 2 or der[0] != 0x0C:
        return der.decode("utf-8", "replace")
    length, start = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    return der[start : start + length].decode("utf-8", "replace")


def bundle_json(envelope: Envelope, public_key_hint: str) -> bytes:
    """A keyed v0.3 bundle around ``envelope`` (what ``cosign attest --new-bundle-format
    --key`` stores, without its log entry): for tests and examples."""
    import base64

    doc = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": public_key_hint}},
        "dsseEnvelope": {
            "payload": base64.b64encode(envelope.payload).decode(),
            "payloadType": envelope.payload_type,
            "signatures": [
                {"sig": base64.b64encode(s.sig).decode(), "keyid": s.keyid}
                for s in envelope.signatures
            ],
        },
    }
    return json.dumps(doc).encode()
