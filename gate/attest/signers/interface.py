"""The signer contract: sign payload bytes, say which key signed, show its public key.

Every signer (Cloud KMS, PKCS#11, a local PEM key) implements :class:`Signer`. The
signature it returns is ready to store in an attestation occurrence: DER for ECDSA,
raw bytes for RSA, and ``public_key_id`` is the id the attestor lists for the key.
Failures are :class:`SignerError` with a hint; secrets (PINs, key material) never
appear in a message.

    >>> sig = Signature(signature=b"\\x30\\x06", public_key_id="ni:///sha-256;abc")
    >>> sig.public_key_id
    'ni:///sha-256;abc'
    >>> SignerError("KMS refused", hint="grant roles/cloudkms.signerVerifier").kind
    'signer'
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from gate.attest.algorithms import Algorithm, PublicKey, load_public_key
from gate.errors import GateError


class SignerError(GateError):
    """The signer could not produce a signature (key missing, access denied, corrupted reply)."""

    kind = "signer"


@dataclass(frozen=True)
class Signature:
    """One signature over a payload and the id of the key that made it."""

    signature: bytes
    public_key_id: str


class Signer(abc.ABC):
    """Signs attestation payloads with one key.

    ``public_key_id`` and ``algorithm`` are known before signing, so gate can refuse a
    key the attestor does not list without asking the key to sign anything.
    """

    @property
    @abc.abstractmethod
    def public_key_id(self) -> str:
        """The id under which the attestor lists this key."""

    @property
    @abc.abstractmethod
    def algorithm(self) -> Algorithm:
        """The signature algorithm the key uses."""

    @abc.abstractmethod
    def public_key_pem(self) -> str:
        """The key's public half as a PEM SubjectPublicKeyInfo."""

    @abc.abstractmethod
    def sign(self, payload: bytes) -> Signature:
        """Sign exactly ``payload`` (the signer hashes it as its algorithm requires)."""

    def public_key(self) -> PublicKey:
        return load_public_key(self.public_key_pem())

    def describe(self) -> str:
        """A one-line description for logs and reports (never secret)."""
        return f"{type(self).__name__}({self.public_key_id}, {self.algorithm.name})"

    def close(self) -> None:  # noqa: B027 - optional hook, most signers hold nothing
        """Release sessions or channels; the signer is unusable afterwards."""

    def __enter__(self) -> Signer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def self_check(self, payload: bytes, signature: Signature) -> Signature:
        """Verify a fresh signature locally before anyone stores it."""
        if not self.algorithm.verify(self.public_key(), payload, signature.signature):
            raise SignerError(
                f"{self.describe()} returned a signature that does not verify",
                hint="the key or the signing service is misbehaving; nothing was stored",
            )
        return signature
