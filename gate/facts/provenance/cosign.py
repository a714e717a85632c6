"""cosign's simple-signing signatures: the payload, its signature, and what it must name.

``cosign sign`` stores each signature as a layer of media type
``application/vnd.dev.cosign.simplesigning.v1+json`` whose blob is the payload
``{"critical": {"identity": {"docker-reference": …}, "image": {"docker-manifest-digest":
…}, "type": "cosign container image signature"}, "optional": …}`` and whose annotation
``dev.cosignproject.cosign/signature`` is the base64 signature over those exact bytes.
A signature counts when a trusted key verifies it **and** the payload names the image's
own digest (as ``cosign verify`` checks): a valid signature of another image is refused.

    >>> payload = simple_signing_payload("r.example/app", "sha256:" + "a" * 64)
    >>> signed_digest(payload)
    'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gate.facts import ShapeError, obj, parse_json, text
from gate.facts.provenance.dsse import b64decode
from gate.facts.provenance.interface import SignatureFact, Unverified, VerifiedBy
from gate.facts.provenance.keys import TrustedKey

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
COSIGN_TYPE = "cosign container image signature"


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    """The payload ``cosign sign`` signs for ``digest`` (for tests and examples)."""
    doc = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": COSIGN_TYPE,
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def signed_digest(payload: bytes) -> str:
    """The manifest digest a simple-signing payload names; :class:`ShapeError` if malformed."""
    critical = obj(obj(parse_json(payload), "payload").get("critical"), "critical")
    kind = critical.get("type")
    if not isinstance(kind, str) or kind.lower() != COSIGN_TYPE:
        raise ShapeError(f"critical.type is {kind!r}, not {COSIGN_TYPE!r}")
    image = obj(critical.get("image"), "critical.image")
    return text(image.get("docker-manifest-digest"), "critical.image.docker-manifest-digest")


def verify_simple_signing(
    payload: bytes,
    signature_b64: str,
    *,
    keys: Sequence[TrustedKey],
    image_digest: str,
    origin: str,
    keyless: bool = False,
) -> SignatureFact | Unverified:
    """A counted signature, or why this one does not count."""

    def refused(reason: str) -> Unverified:
        return Unverified("signature", origin, f"cosign signature: {reason}")

    try:
        signature = b64decode(signature_b64, SIGNATURE_ANNOTATION)
        digest = signed_digest(payload)
    except ShapeError as exc:
        return refused(f"malformed ({exc})")
    key = next((k for k in keys if k.verify(payload, signature)), None)
    if key is None:
        if keyless:
            return refused(
                "keyless signature in cosign's legacy tag format: gate verifies keyless "
                "signatures as Sigstore bundles (cosign sign --new-bundle-format)"
            )
        return refused("no trusted key verifies it (unknown key or altered payload)")
    if digest != image_digest:
        return refused(f"signed by {key.id} but for {digest}, not this image ({image_digest})")
    return SignatureFact("cosign", digest, origin, VerifiedBy(key=key.id))
