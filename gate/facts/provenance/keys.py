"""Trusted public keys: PEM files and Cloud KMS key versions, each with a stable id.

A key's id is what verified evidence records and what policy data names:
``gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`` for a
Cloud KMS key version (cosign's spelling; its public key is read with KMS GetPublicKey,
checked by CRC32C), and ``ni:///sha-256;…`` (RFC 6920, as Binary Authorization names
PKIX keys) for a PEM file. :meth:`TrustedKey.verify` checks a signature with the key's
algorithm: the KMS algorithm when known; otherwise ECDSA with the curve's hash, RSA
PKCS#1 v1.5 or PSS with SHA-256, or Ed25519.

    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> private = ec.generate_private_key(ec.SECP256R1())
    >>> key = TrustedKey.from_public_key(private.public_key())
    >>> key.id.startswith("ni:///sha-256;")
    True
    >>> key.verify(b"data", private.sign(b"data", ec.ECDSA(hashes.SHA256())))
    True
    >>> key.verify(b"other", private.sign(b"data", ec.ECDSA(hashes.SHA256())))
    False
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gate.errors import GateError
from gate.facts.provenance.interface import ProvenanceError

KMS_SCHEME = "gcpkms://"
AnyPublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
_CURVE_HASHES: dict[int, Callable[[], hashes.HashAlgorithm]] = {
    256: hashes.SHA256,
    384: hashes.SHA384,
    521: hashes.SHA512,
}
KEY_HINT = (
    "GATE_TRUSTED_KEYS lists PEM public key files and Cloud KMS key versions as "
    "gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N"
)


@dataclass(frozen=True)
class TrustedKey:
    """One trusted public key; ``algorithm`` is a Cloud KMS algorithm name, or ""."""

    id: str
    public_key: AnyPublicKey
    algorithm: str = ""

    @classmethod
    def from_public_key(cls, key: Any, key_id: str = "", algorithm: str = "") -> TrustedKey:
        if not isinstance(key, AnyPublicKey):
            raise ProvenanceError(
                f"{type(key).__name__} keys are not supported", hint="use an EC, RSA or Ed25519 key"
            )
        return cls(key_id or rfc6920_id(key), key, algorithm)

    @classmethod
    def from_pem(cls, pem: bytes, key_id: str = "", algorithm: str = "") -> TrustedKey:
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise ProvenanceError(
                f"not a PEM public key: {exc}", hint="expect '-----BEGIN PUBLIC KEY-----'"
            ) from exc
        return cls.from_public_key(key, key_id, algorithm)

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` signs ``data`` under this key (never raises for a bad one)."""
        return any(_check(attempt, signature, data) for attempt in self._attempts())

    def _attempts(self) -> list[Callable[[bytes, bytes], None]]:
        key = self.public_key
        if isinstance(key, ed25519.Ed25519PublicKey):
            return [key.verify]
        if isinstance(key, ec.EllipticCurvePublicKey):
            chosen = _hash_of(self.algorithm) or _CURVE_HASHES.get(key.curve.key_size)
            if chosen is None:
                return []
            return [lambda sig, data: key.verify(sig, data, ec.ECDSA(chosen()))]
        chosen = _hash_of(self.algorithm) or hashes.SHA256
        pss = padding.PSS(mgf=padding.MGF1(chosen()), salt_length=chosen().digest_size)
        paddings: list[padding.AsymmetricPadding] = [padding.PKCS1v15(), pss]
        if "_PSS_" in self.algorithm:
            paddings = [pss]
        elif "_PKCS1_" in self.algorithm:
            paddings = [padding.PKCS1v15()]
        return [_rsa(key, pad, chosen) for pad in paddings]


def _rsa(
    key: rsa.RSAPublicKey,
    pad: padding.AsymmetricPadding,
    chosen: Callable[[], hashes.HashAlgorithm],
) -> Callable[[bytes, bytes], None]:
    return lambda sig, data: key.verify(sig, data, pad, chosen())


def _check(attempt: Callable[[bytes, bytes], None], signature: bytes, data: bytes) -> bool:
    try:
        attempt(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def _hash_of(algorithm: str) -> Callable[[], hashes.HashAlgorithm] | None:
    suffix = algorithm.rsplit("_", 1)[-1]
    return {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}.get(suffix)


def rfc6920_id(key: AnyPublicKey) -> str:
    """``ni:///sha-256;<base64url of SHA-256(DER SubjectPublicKeyInfo)>``."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).digest()
    return "ni:///sha-256;" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


KmsReader = Callable[[str], tuple[str, str]]  # key version name -> (PEM, algorithm name)


def load_trusted_keys(references: Iterable[str], kms: KmsReader | None) -> tuple[TrustedKey, ...]:
    """Each reference as a key: a ``gcpkms://`` key version (read with ``kms``) or a PEM file."""
    keys: list[TrustedKey] = []
    for reference in references:
        if reference.startswith(KMS_SCHEME):
            keys.append(_kms_key(reference, kms))
        else:
            keys.append(_file_key(reference))
    return tuple(keys)


def _file_key(path: str) -> TrustedKey:
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ProvenanceError(
            f"cannot read the trusted key {path}: {exc.strerror or exc}", hint=KEY_HINT
        ) from exc
    try:
        return TrustedKey.from_pem(pem)
    except ProvenanceError as exc:
        raise ProvenanceError(f"trusted key {path}: {exc.message}", hint=exc.hint) from exc


def _kms_key(reference: str, kms: KmsReader | None) -> TrustedKey:
    if kms is None:
        raise ProvenanceError(f"no Cloud KMS client to read {reference}", hint=KEY_HINT)
    name = reference.removeprefix(KMS_SCHEME)
    try:
        pem, algorithm = kms(name)
    except GateError as exc:
        raise ProvenanceError(
            f"cannot read the trusted key {reference}: {exc.message}", hint=exc.hint
        ) from exc
    return TrustedKey.from_pem(pem.encode("ascii"), reference, algorithm)
