"""Cloud KMS (``google.cloud.kms.v1.KeyManagementService``) with real keys, for tests.

:class:`KmsServicer` plugs into :class:`GoogleApiServer` and implements GetPublicKey and
AsymmetricSign for the real ``google-cloud-kms`` client: keys are generated with
``cryptography`` for the algorithm named at :meth:`KmsServicer.add_key`; the digest must
be of the algorithm's hash and match ``digest_crc32c`` (INVALID_ARGUMENT otherwise, as
the service does); the signature is made over the prehashed digest, ECDSA in DER.
``tamper`` makes replies lie, for the client's integrity checks: ``signature_crc32c``,
``name``, ``unverified`` (verified_digest_crc32c false), ``pem_crc32c``, ``signature``.

    >>> kms = KmsServicer()
    >>> key = kms.add_key("projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
    ...                   "EC_SIGN_P256_SHA256")
    >>> key.pem.startswith("-----BEGIN PUBLIC KEY-----")
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import google_crc32c
import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from google.cloud import kms_v1

from tests.integration.google_api_server import Abort, ProtoService

Algorithm = kms_v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm
HASHES = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}
CURVES = {"P256": ec.SECP256R1, "P384": ec.SECP384R1}


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


@functools.cache
def generate(algorithm: str, variant: int = 0) -> Any:
    """A private key for ``algorithm`` (cached: RSA 4096 takes a while). ``variant``
    gives another key of the same kind."""
    parts = algorithm.split("_")
    if parts[0] == "EC":
        return ec.generate_private_key(CURVES[parts[2]]())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(parts[3]))


@dataclass
class KmsKey:
    name: str
    algorithm: str  # e.g. RSA_SIGN_PSS_3072_SHA256
    private_key: Any

    @property
    def pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def hash_name(self) -> str:
        return self.algorithm.rsplit("_", 1)[1]

    def sign_digest(self, digest: bytes) -> bytes:
        chosen = HASHES[self.hash_name]()
        prehashed = utils.Prehashed(chosen)
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return bytes(self.private_key.sign(digest, ec.ECDSA(prehashed)))
        if "_PSS_" in self.algorithm:
            pad: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(chosen), salt_length=chosen.digest_size
            )
        else:
            pad = padding.PKCS1v15()
        return bytes(self.private_key.sign(digest, pad, prehashed))


class KmsServicer(ProtoService):
    service = "google.cloud.kms.v1.KeyManagementService"
    methods = {
        "GetPublicKey": (kms_v1.GetPublicKeyRequest, kms_v1.PublicKey),
        "AsymmetricSign": (kms_v1.AsymmetricSignRequest, kms_v1.AsymmetricSignResponse),
    }

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, KmsKey] = {}
        self.tamper: set[str] = set()

    def add_key(self, name: str, algorithm: str, *, variant: int = 0) -> KmsKey:
        key = KmsKey(name, algorithm, generate(algorithm, variant))
        self.keys[name] = key
        return key

    def _key(self, name: str) -> KmsKey:
        key = self.keys.get(name)
        if key is None:
            raise Abort(grpc.StatusCode.NOT_FOUND, f"CryptoKeyVersion {name} not found.")
        return key

    def GetPublicKey(self, request: kms_v1.GetPublicKeyRequest) -> kms_v1.PublicKey:
        key = self._key(request.name)
        pem = key.pem
        crc = crc32c(pem.encode()) ^ (1 if "pem_crc32c" in self.tamper else 0)
        return kms_v1.PublicKey(
            pem=pem,
            algorithm=Algorithm[key.algorithm],
            pem_crc32c=crc,
            name=key.name,
            protection_level=kms_v1.ProtectionLevel.SOFTWARE,
        )

    def AsymmetricSign(
        self, request: kms_v1.AsymmetricSignRequest
    ) -> kms_v1.AsymmetricSignResponse:
        key = self._key(request.name)
        digest = getattr(request.digest, key.hash_name.lower())
        if not digest or len(digest) != HASHES[key.hash_name]().digest_size:
            raise Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The digest must be a {key.hash_name} digest for algorithm {key.algorithm}.",
            )
        if request.digest_crc32c is not None and request.digest_crc32c != crc32c(digest):
            raise Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "The checksum in field digest_crc32c did not match the data in field digest.",
            )
        signature = key.sign_digest(digest)
        if "signature" in self.tamper:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        crc = crc32c(signature) ^ (1 if "signature_crc32c" in self.tamper else 0)
        return kms_v1.AsymmetricSignResponse(
            signature=signature,
            signature_crc32c=crc,
            verified_digest_crc32c=request.digest_crc32c is not None
            and "unverified" not in self.tamper,
            name=key.name + ("0" if "name" in self.tamper else ""),
            protection_level=kms_v1.ProtectionLevel.SOFTWARE,
        )
