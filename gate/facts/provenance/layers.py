"""The layers of a manifest attached to an image, read and judged as evidence.

A simple-signing layer with a signature annotation is a cosign signature, a
``application/vnd.dsse.envelope.v1+json`` layer a DSSE envelope, a
``application/vnd.dev.sigstore.bundle…`` layer a Sigstore bundle; other layers (SBOMs,
scan reports) are left alone, and so is a layer or a referrer whose annotation declares a
predicate type gate does not judge (:func:`judged`). A layer past :data:`MAX_BLOB_BYTES`
is reported unverified, not read; every layer read is charged to the image's budget.

    >>> from gate.facts.registry import Descriptor
    >>> sbom = Descriptor(DSSE_ENVELOPE, "sha256:1", 10, annotations=(
    ...     ("predicateType", "https://spdx.dev/Document"),))
    >>> judged(sbom), judged(Descriptor(DSSE_ENVELOPE, "sha256:2", 10))
    (False, True)
"""

from __future__ import annotations

from dataclasses import replace

from gate.facts.provenance.bundle import BUNDLE_MEDIA_PREFIX
from gate.facts.provenance.cosign import (
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
)
from gate.facts.provenance.interface import Unverified
from gate.facts.provenance.judge import COSIGN_SIGN_PREDICATE, Fact, Judge
from gate.facts.provenance.statement import PROVENANCE_TYPES
from gate.facts.registry import Deadline, Descriptor, Manifest, RegistryClient
from gate.facts.registry.budget import ReadBudget
from gate.reference import ImageRef

DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
PREDICATE_ANNOTATION = "predicateType"  # cosign's attestation layers
BUNDLE_PREDICATE = "dev.sigstore.bundle.predicateType"  # Sigstore bundles attached as referrers
JUDGED_PREDICATES = frozenset((*PROVENANCE_TYPES, COSIGN_SIGN_PREDICATE))
MAX_LAYERS = 16
MAX_BLOB_BYTES = 4 * 1024 * 1024
ORIGIN = "registry"


def judged(descriptor: Descriptor) -> bool:
    """Whether a referrer or a layer may hold what gate judges: one that declares another
    predicate type (an SBOM, a scan report: a Sigstore bundle's referrer and a cosign
    attestation layer name it in an annotation) is never fetched. The annotation is not
    signed, so it can only hide evidence, never add any."""
    declared = descriptor.annotation(PREDICATE_ANNOTATION) or descriptor.annotation(
        BUNDLE_PREDICATE
    )
    return declared is None or declared in JUDGED_PREDICATES


def judge_layers(
    client: RegistryClient,
    judge: Judge,
    ref: ImageRef,
    manifest: Manifest,
    where: str,
    deadline: Deadline,
    budget: ReadBudget,
) -> list[Fact]:
    """The facts ``manifest``'s layers hold about ``ref`` (pinned); ``where`` names the
    manifest in the reasons of what is unverified."""
    assert ref.digest is not None
    found: list[Fact] = []
    for layer in manifest.layers[:MAX_LAYERS]:
        if not _evidence(layer) or not judged(layer):
            continue
        if layer.size > MAX_BLOB_BYTES:
            kind = "signature" if layer.media_type == SIMPLE_SIGNING else "provenance"
            found.append(Unverified(kind, ORIGIN, _too_large(where, layer)))
            continue
        budget.charge(ref, layer.size, f"{where}, layer {layer.digest}")
        blob = client.blob(ref, layer.digest, deadline, MAX_BLOB_BYTES)
        budget.charge(ref, max(0, len(blob) - layer.size), f"{where}, layer {layer.digest}")
        fact = _judge(judge, layer, blob, ref.digest)
        if isinstance(fact, Unverified):
            fact = replace(fact, reason=f"{where}: {fact.reason}")
        if fact is not None:
            found.append(fact)
    return found


def _evidence(layer: Descriptor) -> bool:
    kind = layer.media_type
    if kind == SIMPLE_SIGNING:
        return layer.annotation(SIGNATURE_ANNOTATION) is not None
    return kind == DSSE_ENVELOPE or kind.startswith(BUNDLE_MEDIA_PREFIX)


def _judge(judge: Judge, layer: Descriptor, blob: bytes, image_digest: str) -> Fact | None:
    if layer.media_type == SIMPLE_SIGNING:
        signature = layer.annotation(SIGNATURE_ANNOTATION) or ""
        keyless = layer.annotation(CERTIFICATE_ANNOTATION) is not None
        return judge.simple_signing(
            blob, signature, origin=ORIGIN, image_digest=image_digest, keyless=keyless
        )
    if layer.media_type == DSSE_ENVELOPE:
        return judge.envelope(blob, origin=ORIGIN, image_digest=image_digest)
    return judge.bundle(blob, origin=ORIGIN, image_digest=image_digest)


def _too_large(where: str, layer: Descriptor) -> str:
    return (
        f"{where}: layer {layer.digest} is {layer.size} bytes, more than gate reads for one "
        f"piece of evidence ({MAX_BLOB_BYTES}); not read"
    )
