"""Attach signatures and attestations to a pushed image, as cosign and OCI 1.1 clients do.

- :func:`attach_cosign`: cosign's tag scheme, ``sha256-HEX.sig`` (simple-signing layers,
  the signature in ``dev.cosignproject.cosign/signature``) and ``sha256-HEX.att`` (DSSE
  envelope layers), one OCI image manifest with cosign's small config;
- :func:`attach_referrer`: an OCI 1.1 artifact manifest (``artifactType``, the empty
  config, ``subject``) pushed by digest; unless the registry acknowledged the subject
  (``OCI-Subject``), the referrers tag schema's index ``sha256-HEX`` is fetched, extended
  and pushed again, as the distribution spec asks of clients.

    >>> cosign_tag("sha256:" + "a" * 64, ".sig")[:12]
    'sha256-aaaaa'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.integration.oci_push import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Pushed,
    Pusher,
    canonical,
)

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@dataclass(frozen=True)
class Layer:
    data: bytes
    media_type: str
    annotations: dict[str, str] = field(default_factory=dict)


def cosign_tag(digest: str, suffix: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}{suffix}"


def _layers(pusher: Pusher, repo: str, layers: list[Layer]) -> list[dict[str, Any]]:
    out = []
    for layer in layers:
        blob = pusher.blob(repo, layer.data, layer.media_type)
        item: dict[str, Any] = {
            "mediaType": layer.media_type,
            "digest": blob.digest,
            "size": blob.size,
        }
        if layer.annotations:
            item["annotations"] = layer.annotations
        out.append(item)
    return out


def attach_cosign(
    pusher: Pusher, repo: str, subject: str, suffix: str, layers: list[Layer]
) -> Pushed:
    """Push cosign's ``.sig`` / ``.att`` manifest for ``subject`` (a digest)."""
    config = canonical({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                        "rootfs": {"type": "layers", "diff_ids": []}})  # fmt: skip
    cfg = pusher.blob(repo, config, OCI_CONFIG)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cfg.digest, "size": cfg.size},
        "layers": _layers(pusher, repo, layers),
    }
    return pusher.manifest(repo, cosign_tag(subject, suffix), canonical(doc), OCI_MANIFEST)


def attach_referrer(
    pusher: Pusher,
    repo: str,
    subject: Pushed,
    artifact_type: str,
    layers: list[Layer],
    annotations: dict[str, str] | None = None,
) -> Pushed:
    """Push an artifact whose ``subject`` is ``subject``; keep the fallback tag if needed.
    ``annotations`` go on the manifest and its referrers entry, as cosign's and GitHub's
    Sigstore bundles carry ``dev.sigstore.bundle.predicateType``."""
    empty = pusher.blob(repo, b"{}", EMPTY_CONFIG)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": empty.digest, "size": empty.size},
        "layers": _layers(pusher, repo, layers),
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        },
    }
    if annotations:
        doc["annotations"] = annotations
    body = canonical(doc)
    from tests.integration.oci_push import digest_of

    response = pusher._send(
        "PUT", f"{pusher.base_url}/v2/{repo}/manifests/{digest_of(body)}", repo,
        data=body, headers={"Content-Type": OCI_MANIFEST},
    )  # fmt: skip
    pushed = Pushed(digest_of(body), OCI_MANIFEST, len(body))
    if response.headers.get("OCI-Subject") != subject.digest:
        _extend_fallback(pusher, repo, subject.digest, pushed, artifact_type, annotations)
    return pushed


def _extend_fallback(
    pusher: Pusher,
    repo: str,
    subject: str,
    artifact: Pushed,
    artifact_type: str,
    annotations: dict[str, str] | None = None,
) -> None:
    tag = cosign_tag(subject, "")
    url = f"{pusher.base_url}/v2/{repo}/manifests/{tag}"
    current = pusher.session.get(url, headers={"Accept": OCI_INDEX}, timeout=30)
    index = (
        current.json()
        if current.status_code == 200
        else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    )
    entry = {"mediaType": artifact.media_type, "digest": artifact.digest,
             "size": artifact.size, "artifactType": artifact_type}  # fmt: skip
    if annotations:
        entry["annotations"] = annotations
    index["manifests"].append(entry)
    pusher.manifest(repo, tag, json.dumps(index).encode(), OCI_INDEX)
