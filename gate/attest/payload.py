"""The Binary Authorization attestation payload: build it byte-exactly, parse it strictly.

The bytes are those ``gcloud container binauthz create-signature-payload`` prints: JSON
with sorted keys, two-space indent, separators ``,`` and ``: ``, ASCII only and a
final newline. ``docker-reference`` is ``registry/repository`` with no tag and no digest. The
bytes built here are the bytes signed *and* the bytes stored in the occurrence: never
re-serialise a payload between signing and storing.

    >>> from gate.reference import parse_reference
    >>> ref = parse_reference("us-docker.pkg.dev/p/r/app@sha256:" + "a" * 64)
    >>> data = build_payload(ref)
    >>> data.splitlines()[3]
    b'      "docker-reference": "us-docker.pkg.dev/p/r/app"'
    >>> parse_payload(data).digest == ref.digest
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gate.errors import GateError
from gate.reference import ImageRef

PAYLOAD_TYPE = "Google cloud binauthz container signature"
_SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")


class PayloadError(GateError):
    """A payload that is not a Binary Authorization container signature payload."""

    kind = "payload"


@dataclass(frozen=True)
class Payload:
    """What a payload says: the image name (registry/repository) and its manifest digest."""

    docker_reference: str
    digest: str

    def matches(self, ref: ImageRef) -> bool:
        """Whether the payload names exactly this image: same repository, same digest."""
        return self.docker_reference == ref.name and self.digest == ref.digest


def build_payload(ref: ImageRef) -> bytes:
    """The exact payload bytes for ``ref``, which must be pinned to a sha256 digest."""
    digest = ref.digest
    if digest is None or not _SHA256_RE.fullmatch(digest):
        raise PayloadError(
            f"cannot attest '{ref}': it is not pinned to a sha256 digest",
            hint="resolve the tag to its digest first (name@sha256:<64 hex>)",
        )
    document = {
        "critical": {
            "identity": {"docker-reference": ref.name},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE,
        }
    }
    text = json.dumps(document, ensure_ascii=True, indent=2, separators=(",", ": "), sort_keys=True)
    return (text + "\n").encode("ascii")


def parse_payload(data: bytes) -> Payload:
    """Parse and validate payload bytes; raise :class:`PayloadError` on any deviation.

    Accepts any JSON layout (other signers format differently) but requires the
    ``critical`` section with the right type, a docker-reference without tag or digest
    and a sha256 manifest digest. Duplicate keys are refused: they would let two
    readers see two different images in one signed payload.
    """
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(
            f"attestation payload is not JSON: {exc}",
            hint="the occurrence's serialized_payload must be the signed JSON document",
        ) from exc
    critical = _section(document, "critical")
    if critical.get("type") != PAYLOAD_TYPE:
        raise PayloadError(
            f"payload type is {critical.get('type')!r}, expected {PAYLOAD_TYPE!r}",
            hint="only Binary Authorization container signature payloads are accepted",
        )
    reference = _section(critical, "identity").get("docker-reference")
    digest = _section(critical, "image").get("docker-manifest-digest")
    if not isinstance(reference, str) or not reference:
        raise PayloadError("payload has no docker-reference", hint=_HINT)
    if "@" in reference or ":" in reference.rpartition("/")[2]:
        raise PayloadError(
            f"payload docker-reference {reference!r} carries a tag or digest", hint=_HINT
        )
    if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
        raise PayloadError(f"payload digest {digest!r} is not sha256:<64 hex>", hint=_HINT)
    return Payload(docker_reference=reference, digest=digest)


_HINT = "the payload must be what 'gcloud container binauthz create-signature-payload' makes"


def _section(document: Any, key: str) -> dict[str, Any]:
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, dict):
        raise PayloadError(f"payload has no '{key}' object", hint=_HINT)
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PayloadError(f"payload repeats key {key!r}", hint=_HINT)
        result[key] = value
    return result
