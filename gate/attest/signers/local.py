"""Sign with a PEM private key file: for development and tests, never for production.

The key type fixes the algorithm (EC by curve; RSA by size with PSS or PKCS#1 v1.5
padding and SHA-256, or SHA-512 for 4096-bit keys). ``public_key_id`` defaults to the
RFC 6920 ``ni:///sha-256;…`` id Binary Authorization gives PKIX keys. An encrypted key's
password comes from the environment variable named by ``password_env``.

    >>> import tempfile, pathlib
    >>> from cryptography.hazmat.primitives import serialization
    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
    ...     serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    ...     serialization.NoEncryption())
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "key.pem"
    >>> _ = path.write_bytes(pem)
    >>> signer = LocalKeySigner.from_file(path)
    >>> signer.algorithm.name
    'EC_SIGN_P384_SHA384'
    >>> signer.algorithm.verify(signer.public_key(), b"x", signer.sign(b"x").signature)
    True
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gate.attest.algorithms import (
    Algorithm,
    PrivateKey,
    algorithm_for_key,
    public_key_pem,
    rfc6920_key_id,
)
from gate.attest.signers.interface import Signature, Signer, SignerError


class LocalKeySigner(Signer):
    def __init__(
        self,
        key: PrivateKey,
        *,
        public_key_id: str = "",
        rsa_padding: str = "pss",
        hash_name: str = "",
    ) -> None:
        self._key = key
        self._algorithm = algorithm_for_key(
            key.public_key(), rsa_padding=rsa_padding, hash_name=hash_name
        )
        self._public_key_id = public_key_id or rfc6920_key_id(key.public_key())

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        password_env: str = "",
        public_key_id: str = "",
        rsa_padding: str = "pss",
        hash_name: str = "",
    ) -> LocalKeySigner:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise SignerError(
                f"cannot read private key file {path}: {exc.strerror}",
                hint="pass the path of a PEM private key (PKCS#8, SEC1 or PKCS#1)",
            ) from exc
        password = os.environ.get(password_env, "").encode() if password_env else None
        try:
            key = serialization.load_pem_private_key(data, password=password or None)
        except (ValueError, TypeError) as exc:
            raise SignerError(
                f"{path} is not a usable PEM private key (or the password is wrong)",
                hint="an encrypted key needs its password in the variable named by password_env",
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SignerError(
                f"{path} holds a {type(key).__name__}; attestations need an EC or RSA key",
                hint="generate e.g. 'openssl ecparam -name prime256v1 -genkey -noout'",
            )
        return cls(key, public_key_id=public_key_id, rsa_padding=rsa_padding, hash_name=hash_name)

    @property
    def public_key_id(self) -> str:
        return self._public_key_id

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def public_key_pem(self) -> str:
        return public_key_pem(self._key.public_key())

    def sign(self, payload: bytes) -> Signature:
        return Signature(self._algorithm.sign(self._key, payload), self._public_key_id)
