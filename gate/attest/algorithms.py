"""Signature algorithms shared by Cloud KMS, PKCS#11 and Binary Authorization PKIX keys.

One table maps every algorithm name gate accepts (Cloud KMS ``CryptoKeyVersionAlgorithm``
and Binary Authorization ``PkixPublicKey.SignatureAlgorithm`` names, aliases included)
to the key type, size and digest. RSA-PSS uses MGF1 with the same hash and a salt as
long as the digest, as Cloud KMS does. Key ids follow RFC 6920, as Binary Authorization
computes them for PKIX keys that have no explicit id.

    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> alg = algorithm("ECDSA_P256_SHA256")
    >>> alg.name, alg.hash_name
    ('EC_SIGN_P256_SHA256', 'sha256')
    >>> alg.verify(key.public_key(), b"data", alg.sign(key, b"data"))
    True
    >>> rfc6920_key_id(key.public_key()).startswith("ni:///sha-256;")
    True
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gate.errors import GateError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_CURVES = {"P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}


class KeyMaterialError(GateError):
    """A key or algorithm gate cannot use for Binary Authorization attestations."""

    kind = "key"


@dataclass(frozen=True)
class Algorithm:
    name: str  # the Cloud KMS-style name, e.g. EC_SIGN_P256_SHA256
    family: str  # "ec", "rsa-pss" or "rsa-pkcs1"
    hash_name: str
    size: int  # RSA modulus bits, or EC curve bits

    def hash(self) -> hashes.HashAlgorithm:
        return _HASHES[self.hash_name]()

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()

    def check_key(self, key: PublicKey) -> None:
        """Raise :class:`KeyMaterialError` unless ``key`` is of this algorithm's type and size."""
        ok = (
            isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size == self.size
            if self.family == "ec"
            else isinstance(key, rsa.RSAPublicKey) and key.key_size == self.size
        )
        if not ok:
            raise KeyMaterialError(
                f"the key ({describe_key(key)}) does not fit algorithm {self.name}",
                hint="the key's type and size must match the algorithm declared for it",
            )

    def padding(self) -> padding.AsymmetricPadding:
        if self.family == "rsa-pss":
            return padding.PSS(mgf=padding.MGF1(self.hash()), salt_length=self.hash().digest_size)
        return padding.PKCS1v15()

    def verify(self, key: PublicKey, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (DER for ECDSA) signs ``data`` under ``key`` with this algorithm."""
        self.check_key(key)
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(self.hash()))
            else:
                key.verify(signature, data, self.padding(), self.hash())
        except InvalidSignature:
            return False
        return True

    def sign(self, key: PrivateKey, data: bytes) -> bytes:
        """Sign ``data`` with a local private key (ECDSA signatures are DER)."""
        self.check_key(key.public_key())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(self.hash()))
        return key.sign(data, self.padding(), self.hash())


def _table() -> dict[str, Algorithm]:
    table: dict[str, Algorithm] = {}
    for curve, hash_name in (("P256", "sha256"), ("P384", "sha384"), ("P521", "sha512")):
        alg = Algorithm(f"EC_SIGN_{curve}_{hash_name.upper()}", "ec", hash_name, int(curve[1:]))
        table[alg.name] = table[f"ECDSA_{curve}_{hash_name.upper()}"] = alg
    for bits, hash_name in ((2048, "sha256"), (3072, "sha256"), (4096, "sha256"), (4096, "sha512")):
        pss = Algorithm(f"RSA_SIGN_PSS_{bits}_{hash_name.upper()}", "rsa-pss", hash_name, bits)
        table[pss.name] = table[f"RSA_PSS_{bits}_{hash_name.upper()}"] = pss
        pkcs1 = Algorithm(
            f"RSA_SIGN_PKCS1_{bits}_{hash_name.upper()}", "rsa-pkcs1", hash_name, bits
        )
        table[pkcs1.name] = pkcs1
    return table


ALGORITHMS = _table()


def algorithm(name: str) -> Algorithm:
    """The algorithm called ``name`` (KMS or Binary Authorization spelling)."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        supported = sorted({alg.name for alg in ALGORITHMS.values()})
        raise KeyMaterialError(
            f"signature algorithm {name!r} is not supported for attestations",
            hint=f"use one of {', '.join(supported)}",
        ) from None


def algorithm_for_key(
    key: PublicKey, *, rsa_padding: str = "pss", hash_name: str = ""
) -> Algorithm:
    """The algorithm a key signs with: EC by curve; RSA by size, ``rsa_padding`` and hash."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = key.curve.key_size
        default_hash = {256: "sha256", 384: "sha384", 521: "sha512"}.get(size, "")
        return algorithm(f"EC_SIGN_P{size}_{(hash_name or default_hash).upper()}")
    if rsa_padding not in ("pss", "pkcs1"):
        raise KeyMaterialError(f"unknown RSA padding {rsa_padding!r}", hint="use pss or pkcs1")
    return algorithm(
        f"RSA_SIGN_{rsa_padding.upper()}_{key.key_size}_{(hash_name or 'sha256').upper()}"
    )


def load_public_key(pem: str | bytes) -> PublicKey:
    """Parse a PEM SubjectPublicKeyInfo; only EC and RSA keys are usable."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyMaterialError(
            f"not a PEM public key: {exc}", hint="expect '-----BEGIN PUBLIC KEY-----'"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise KeyMaterialError(
            f"{type(key).__name__} keys cannot sign attestations", hint="use an EC or RSA key"
        )
    return key


def spki_der(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_pem(key: PublicKey) -> str:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def rfc6920_key_id(key: PublicKey) -> str:
    """``ni:///sha-256;<base64url, no padding, of SHA-256(DER SubjectPublicKeyInfo)>``."""
    digest = hashlib.sha256(spki_der(key)).digest()
    return "ni:///sha-256;" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def describe_key(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return f"RSA {key.key_size}"
