"""Build images in Python and push them with the Distribution API (no docker CLI).

Blobs go up as a monolithic upload (``POST /v2/NAME/blobs/uploads/`` then ``PUT
<location>?digest=…``), manifests with ``PUT /v2/NAME/manifests/REF``. The pusher
answers basic and Bearer challenges itself (push scope). Helpers build OCI and Docker
images, a multi-arch index with an attestation entry and an artifact entry.

    >>> config = image_config(user="root", architecture="arm64", variant="v8")
    >>> json.loads(config)["config"]["User"], json.loads(config)["variant"]
    ('root', 'v8')
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Any

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Pushed:
    digest: str
    media_type: str
    size: int


class Pusher:
    """Pushes to one registry (``base_url`` like ``http://127.0.0.1:5000``)."""

    def __init__(self, base_url: str, credentials: tuple[str, str] | None = None) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.session = requests.Session()
        self.session.trust_env = False

    def _send(self, method: str, url: str, repo: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, url, timeout=30, **kwargs)
        if response.status_code == 401 and self.credentials is not None:
            headers = dict(kwargs.pop("headers", {}) or {})
            headers["Authorization"] = self._authorization(response, repo)
            response = self.session.request(method, url, timeout=30, headers=headers, **kwargs)
        response.raise_for_status()
        return response

    def _authorization(self, response: requests.Response, repo: str) -> str:
        assert self.credentials is not None
        challenge = response.headers.get("WWW-Authenticate", "")
        basic = base64.b64encode(":".join(self.credentials).encode()).decode()
        if challenge.lower().startswith("basic"):
            return f"Basic {basic}"
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        token = self.session.get(
            params["realm"],
            params={"service": params.get("service", ""), "scope": f"repository:{repo}:pull,push"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=30,
        )
        token.raise_for_status()
        return f"Bearer {token.json()['token']}"

    def blob(self, repo: str, data: bytes, media_type: str = OCI_LAYER) -> Pushed:
        digest = digest_of(data)
        started = self._send("POST", f"{self.base_url}/v2/{repo}/blobs/uploads/", repo)
        location = requests.compat.urljoin(self.base_url, started.headers["Location"])
        joiner = "&" if "?" in location else "?"
        self._send(
            "PUT",
            f"{location}{joiner}digest={digest}",
            repo,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return Pushed(digest, media_type, len(data))

    def manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> Pushed:
        self._send(
            "PUT",
            f"{self.base_url}/v2/{repo}/manifests/{reference}",
            repo,
            data=body,
            headers={"Content-Type": media_type},
        )
        return Pushed(digest_of(body), media_type, len(body))


def image_config(
    *,
    user: str = "",
    architecture: str = "amd64",
    os: str = "linux",
    variant: str = "",
    padding: int = 0,
    labels: dict[str, str] | None = None,
    created: str = "2026-01-02T03:04:05Z",
) -> bytes:
    """An image config JSON; ``padding`` bytes of label make an oversized one."""
    all_labels = dict(labels or {})
    if padding:
        all_labels["padding"] = "x" * padding
    doc: dict[str, Any] = {
        "architecture": architecture,
        "os": os,
        "created": created,
        "config": {
            "User": user,
            "Env": ["PATH=/usr/bin"],
            "Labels": all_labels,
            "Cmd": ["/app"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "COPY app /app", "created": created}],
    }
    if variant:
        doc["variant"] = variant
    return canonical(doc)


def layer(content: bytes = b"hello\n") -> bytes:
    """A deterministic gzipped tar holding one file."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("app")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_image(
    pusher: Pusher,
    repo: str,
    config: bytes,
    *,
    tag: str | None = None,
    docker: bool = False,
    config_type: str | None = None,
    artifact_type: str | None = None,
) -> Pushed:
    """Push config + one layer + manifest (OCI, or Docker v2 with ``docker=True``)."""
    config_media = config_type or (DOCKER_CONFIG if docker else OCI_CONFIG)
    cfg = pusher.blob(repo, config, config_media)
    lay = pusher.blob(repo, layer(), DOCKER_LAYER if docker else OCI_LAYER)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": cfg.media_type, "digest": cfg.digest, "size": cfg.size},
        "layers": [{"mediaType": lay.media_type, "digest": lay.digest, "size": lay.size}],
    }
    if artifact_type:
        doc["artifactType"] = artifact_type
    body = canonical(doc)
    return pusher.manifest(repo, tag or digest_of(body), body, media_type)


def index_entry(
    pushed: Pushed, platform: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    """An index's descriptor of ``pushed``; ``fields`` (``artifactType``, ``annotations``,
    even ``mediaType``) are added or replace the computed ones."""
    entry: dict[str, Any] = {
        "mediaType": pushed.media_type,
        "digest": pushed.digest,
        "size": pushed.size,
    }
    if platform is not None:
        entry["platform"] = platform
    return {**entry, **fields}


def push_index_of(
    pusher: Pusher,
    repo: str,
    manifests: list[dict[str, Any]],
    *,
    tag: str | None = None,
    docker: bool = False,
) -> Pushed:
    """An index holding exactly ``manifests`` (descriptors, see :func:`index_entry`)."""
    media_type = DOCKER_LIST if docker else OCI_INDEX
    body = canonical({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests})
    return pusher.manifest(repo, tag or digest_of(body), body, media_type)


def push_index(
    pusher: Pusher,
    repo: str,
    entries: list[tuple[Pushed, dict[str, str]]],
    *,
    tag: str | None = None,
    docker: bool = False,
    attestation_for: Pushed | None = None,
    artifact: bool = False,
) -> Pushed:
    """An index over ``entries`` (pushed manifest, platform), with optional extra entries:
    BuildKit's attestation manifest (``unknown/unknown``) and a cosign signature artifact
    without a platform (empty config)."""
    manifests = [index_entry(p, platform) for p, platform in entries]
    if attestation_for is not None:
        manifests.append(attestation_entry(pusher, repo, attestation_for))
    if artifact:
        sig = push_image(
            pusher,
            repo,
            b"{}",
            config_type="application/vnd.oci.empty.v1+json",
            artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json",
        )
        manifests.append(
            index_entry(sig, artifactType="application/vnd.dev.cosign.artifact.sig.v1+json")
        )
    return push_index_of(pusher, repo, manifests, tag=tag, docker=docker)


def attestation_entry(pusher: Pusher, repo: str, subject: Pushed) -> dict[str, Any]:
    """BuildKit's attestation manifest for ``subject``, as its index lists it."""
    statement = pusher.blob(
        repo, b'{"_type":"https://in-toto.io/Statement/v0.1"}', "application/vnd.in-toto+json"
    )
    att = push_image(pusher, repo, image_config(architecture="unknown", os="unknown"))
    return index_entry(
        att,
        {"os": "unknown", "architecture": "unknown"},
        annotations={
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": subject.digest,
            "in-toto.io/predicate-type": statement.digest,
        },
    )
