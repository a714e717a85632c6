"""Supply-chain artifacts made in the tests with real keys, in the formats real tools write.

- :func:`slsa_v1_statement` / :func:`slsa_v01_statement`: in-toto statements shaped like
  Cloud Build's (SLSA v1 with ``buildConfigSource`` and a ``gitCommit`` dependency; v0.1
  with a ``sha1`` material), as ``gcloud artifacts docker images describe
  --show-provenance`` shows them;
- :func:`dsse_envelope`: a DSSE envelope signed over the PAE, as ``cosign attest`` and
  Cloud Build sign;
- :func:`cosign_signature`: cosign's simple-signing payload and its base64 signature;
- :class:`Signer`: an ECDSA P-256 (or RSA) key pair with its PEM and key id.

    >>> signer = Signer.ec()
    >>> env = json.loads(dsse_envelope(b"{}", signer))
    >>> env["payloadType"], len(env["signatures"])
    ('application/vnd.in-toto+json', 1)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gate.facts.provenance.cosign import simple_signing_payload
from gate.facts.provenance.dsse import pae
from gate.facts.provenance.keys import rfc6920_id

INTOTO = "application/vnd.in-toto+json"
GCB_BUILDER = "https://cloudbuild.googleapis.com/GoogleHostedWorker"
GCB_BUILD_TYPE = "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1"
COMMIT = "2ce3f90facdb51aeb950d5bc641e981be61fdf48"


@dataclass
class Signer:
    private_key: Any

    @classmethod
    def ec(cls) -> Signer:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rsa(cls) -> Signer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_id(self) -> str:
        return rfc6920_id(self.private_key.public_key())

    def write_pem(self, folder: Path, name: str = "key.pub") -> Path:
        path = folder / name
        path.write_bytes(self.pem)
        return path

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def slsa_v1_statement(
    image: str,
    digest: str,
    *,
    builder: str = GCB_BUILDER,
    repository: str = "git+https://github.com/example/app",
    commit: str = COMMIT,
) -> bytes:
    """A Cloud Build SLSA v1 statement about ``image@digest`` (``image`` without scheme)."""
    algorithm, _, value = digest.partition(":")
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": f"https://{image}", "digest": {algorithm: value}},
            {"name": f"https://{image}:latest", "digest": {algorithm: value}},
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": GCB_BUILD_TYPE,
                "externalParameters": {
                    "buildConfigSource": {
                        "path": "cloudbuild.yaml",
                        "ref": "refs/heads/main",
                        "repository": repository,
                    },
                    "substitutions": {},
                },
                "internalParameters": {"systemSubstitutions": {"COMMIT_SHA": commit}},
                "resolvedDependencies": [
                    {"uri": f"{repository}@refs/heads/main", "digest": {"gitCommit": commit}}
                    if commit
                    else {"uri": f"{repository}@refs/heads/main"},
                    {
                        "uri": "gcr.io/cloud-builders/docker@sha256:" + "d0" * 32,
                        "digest": {"sha256": "d0" * 32},
                    },
                ],
            },
            "runDetails": {
                "builder": {"id": builder},
                "metadata": {
                    "invocationId": "https://cloudbuild.googleapis.com/v1/projects/p/builds/1",
                    "startedOn": "2026-11-20T09:29:00Z",
                    "finishedOn": "2026-11-20T09:30:00Z",
                },
                "byproducts": [{}],
            },
        },
    }
    return json.dumps(doc).encode()


def slsa_v01_statement(image: str, digest: str, *, commit: str = COMMIT) -> bytes:
    """Cloud Build's SLSA v0.1 statement (builder ``…GoogleHostedWorker@v0.3``)."""
    algorithm, _, value = digest.partition(":")
    doc = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": f"https://{image}", "digest": {algorithm: value}}],
        "predicateType": "https://slsa.dev/provenance/v0.1",
        "predicate": {
            "builder": {"id": f"{GCB_BUILDER}@v0.3"},
            "recipe": {
                "type": "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1",
                "entryPoint": "cloudbuild.yaml",
            },
            "materials": [
                {"uri": "git+https://github.com/example/app", "digest": {"sha1": commit}}
            ],
        },
    }
    return json.dumps(doc).encode()


def dsse_envelope(
    payload: bytes, signer: Signer, *, keyid: str = "", payload_type: str = INTOTO
) -> bytes:
    """A DSSE envelope (JSON) over ``payload``, signed over the PAE."""
    signature = signer.sign(pae(payload_type, payload))
    return json.dumps(
        {
            "payloadType": payload_type,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}],
        }
    ).encode()


def cosign_signature(image: str, digest: str, signer: Signer) -> tuple[bytes, str]:
    """cosign's payload for ``image@digest`` and its base64 signature."""
    payload = simple_signing_payload(image, digest)
    return payload, base64.b64encode(signer.sign(payload)).decode()


def tampered(envelope: bytes) -> bytes:
    """The envelope with its payload changed after signing (one subject digest altered)."""
    doc = json.loads(envelope)
    payload = base64.b64decode(doc["payload"]).replace(b'"sha256": "', b'"sha256": "0', 1)
    doc["payload"] = base64.b64encode(payload).decode()
    return json.dumps(doc).encode()
