"""A running set of Google APIs for the attestation tests, on one gRPC server on 127.0.0.1.

:func:`google_apis` starts :class:`GoogleApiServer` with Cloud KMS, Binary Authorization
(attestors, validation) and Grafeas (Container Analysis) servicers and yields a
:class:`GoogleApis`: the servicers (to add keys and attestors, make calls fail, count
what was stored), the endpoint that reaches them, and helpers that build gate's
clients through the real Google client libraries.

    >>> with google_apis() as apis:
    ...     apis.endpoint.plaintext
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from google.cloud.binaryauthorization_v1 import ValidationHelperV1Client
from grafeas import grafeas_v1

from gate.attest.attestor import Attestor
from gate.attest.binauthz import Attestations, read_attestor
from gate.attest.clients import binauthz_client, grafeas_client, kms_client, validation_client
from gate.attest.signers.interface import Signer
from gate.attest.signers.kms import KmsSigner
from gate.facts.google import GoogleEndpoint
from gate.reference import ImageRef, parse_reference
from tests.integration.binauthz_server import BinauthzServicer, ValidationHelperServicer
from tests.integration.grafeas_server import GoogleApiServer, GrafeasServicer
from tests.integration.kms_server import KmsServicer

PROJECT = "gate-test"
ATTESTOR = f"projects/{PROJECT}/attestors/gate"
NOTE = f"projects/{PROJECT}/notes/gate-attestor"
KEY_RING = f"projects/{PROJECT}/locations/global/keyRings/gate"
IMAGE = "us-docker.pkg.dev/gate-test/apps/api"
DIGEST = "sha256:" + "5" * 64
OTHER_DIGEST = "sha256:" + "6" * 64
KMS_ALGORITHMS = (
    "EC_SIGN_P256_SHA256",
    "EC_SIGN_P384_SHA384",
    "RSA_SIGN_PSS_2048_SHA256",
    "RSA_SIGN_PSS_3072_SHA256",
    "RSA_SIGN_PSS_4096_SHA256",
    "RSA_SIGN_PSS_4096_SHA512",
    "RSA_SIGN_PKCS1_2048_SHA256",
    "RSA_SIGN_PKCS1_3072_SHA256",
    "RSA_SIGN_PKCS1_4096_SHA256",
    "RSA_SIGN_PKCS1_4096_SHA512",
)


def key_version(algorithm: str, version: int = 1) -> str:
    return (
        f"{KEY_RING}/cryptoKeys/{algorithm.lower().replace('_', '-')}/cryptoKeyVersions/{version}"
    )


def image(digest: str = DIGEST, name: str = IMAGE) -> ImageRef:
    return parse_reference(f"{name}@{digest}")


@dataclass
class GoogleApis:
    server: GoogleApiServer
    kms: KmsServicer
    binauthz: BinauthzServicer
    validation: ValidationHelperServicer
    grafeas: GrafeasServicer

    @property
    def endpoint(self) -> GoogleEndpoint:
        return self.server.endpoint

    def kms_signer(self, algorithm: str = "EC_SIGN_P256_SHA256", **kw: Any) -> KmsSigner:
        """A KMS signer for a key version of ``algorithm`` (added to KMS if missing)."""
        name = key_version(algorithm)
        if name not in self.kms.keys:
            self.kms.add_key(name, algorithm)
        return KmsSigner(name, kms_client(self.endpoint), **kw)

    def add_attestor(
        self, keys: Sequence[tuple[str, str, str]], name: str = ATTESTOR, note: str = NOTE
    ) -> str:
        self.binauthz.add_attestor(name, note, keys)
        return name

    def attestor_for(self, *signers: Signer, name: str = ATTESTOR) -> str:
        """An attestor listing each signer's key under its id and algorithm."""
        keys = [(s.public_key_id, s.public_key_pem(), s.algorithm.name) for s in signers]
        return self.add_attestor(keys, name)

    def read_attestor(self, attestor: str = ATTESTOR) -> Attestor:
        client = binauthz_client(self.endpoint)
        try:
            return read_attestor(client, attestor)
        finally:
            client.transport.close()

    def attestations(self, attestor: str = ATTESTOR, **kw: Any) -> Attestations:
        return Attestations(self.read_attestor(attestor), grafeas_client(self.endpoint), **kw)

    def validator(self) -> ValidationHelperV1Client:
        return validation_client(self.endpoint)

    def stored(self, ref: ImageRef | None = None) -> list[grafeas_v1.Occurrence]:
        """Attestation occurrences the server holds (for ``ref``'s resource, if given)."""
        with self.grafeas.lock:
            found = list(self.grafeas.occurrences.values())
        uri = f"https://{ref.name}@{ref.digest}" if ref else None
        return [
            o
            for o in found
            if o.kind == grafeas_v1.NoteKind.ATTESTATION and (uri is None or o.resource_uri == uri)
        ]


@contextlib.contextmanager
def google_apis(tls: tuple[bytes, bytes] | None = None) -> Iterator[GoogleApis]:
    """The servicers on one server; ``tls`` (certificate chain PEM, key PEM) serves TLS."""
    server = GoogleApiServer(tls=tls)
    binauthz = server.add(BinauthzServicer())
    apis = GoogleApis(
        server,
        server.add(KmsServicer()),
        binauthz,
        server.add(ValidationHelperServicer(binauthz)),
        server.add(GrafeasServicer()),
    )
    server.start()
    try:
        yield apis
    finally:
        server.stop()
