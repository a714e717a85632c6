"""A Binary Authorization attestor as gate uses it, and the local check of an attestation.

:class:`Attestor` holds the attestor's note and its PKIX public keys (PGP keys are
listed in ``skipped``: gate neither signs nor verifies with them). :func:`check_signer`
refuses a signer whose key the attestor does not list, under that id, with that exact
public key and algorithm: such an attestation would never verify.
:func:`check_attestation` is the verification Binary Authorization performs, done
locally with ``cryptography``: the payload names this digest and repository, and at
least one signature verifies with one of the attestor's keys.

    >>> from gate.attest.signers.local import LocalKeySigner
    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> from gate.reference import parse_reference
    >>> from gate.attest.payload import build_payload
    >>> signer = LocalKeySigner(ec.generate_private_key(ec.SECP256R1()))
    >>> attestor = Attestor("projects/p/attestors/a", "projects/p/notes/n",
    ...     (AttestorKey.from_pem(signer.public_key_id, signer.public_key_pem(),
    ...                           "ECDSA_P256_SHA256"),))
    >>> check_signer(attestor, signer).id == signer.public_key_id
    True
    >>> ref = parse_reference("gcr.io/p/app@sha256:" + "b" * 64)
    >>> data = build_payload(ref)
    >>> sig = signer.sign(data)
    >>> check_attestation(data, [(sig.signature, sig.public_key_id)], ref, attestor).valid
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gate.attest.algorithms import Algorithm, KeyMaterialError, PublicKey, algorithm, spki_der
from gate.attest.algorithms import load_public_key as _load
from gate.attest.payload import PayloadError, parse_payload
from gate.attest.signers.interface import Signer
from gate.errors import GateError
from gate.reference import ImageRef


class AttestationError(GateError):
    """Binary Authorization or Container Analysis refused, or the attestor cannot be used."""

    kind = "attestation"


@dataclass(frozen=True)
class AttestorKey:
    id: str
    algorithm: Algorithm
    public_key: PublicKey

    @classmethod
    def from_pem(cls, key_id: str, pem: str, algorithm_name: str) -> AttestorKey:
        alg = algorithm(algorithm_name)
        key = _load(pem)
        alg.check_key(key)
        return cls(key_id, alg, key)


@dataclass(frozen=True)
class Attestor:
    name: str  # projects/P/attestors/A
    note_name: str  # projects/P/notes/N
    keys: tuple[AttestorKey, ...]
    skipped: tuple[str, ...] = ()  # why some listed keys are unusable

    @property
    def project(self) -> str:
        return self.name.split("/")[1]

    def key(self, key_id: str) -> AttestorKey | None:
        return next((key for key in self.keys if key.id == key_id), None)


def check_signer(attestor: Attestor, signer: Signer) -> AttestorKey:
    """The attestor key ``signer`` signs for; AttestationError if the attestor lacks it."""
    key = attestor.key(signer.public_key_id)
    listed = ", ".join(k.id for k in attestor.keys) or "none"
    add = f"gcloud container binauthz attestors public-keys add --attestor={attestor.name}"
    if key is None:
        raise AttestationError(
            f"key {signer.public_key_id} is not one of the keys of {attestor.name} "
            f"(it lists: {listed}); its attestations would never verify",
            hint=f"sign with one of the attestor's keys, or add this key: {add} …",
        )
    if spki_der(key.public_key) != spki_der(signer.public_key()):
        raise AttestationError(
            f"{attestor.name} lists {key.id} with a different public key than the signer's",
            hint="the key id points at another key (rotated or re-imported?); update the attestor",
        )
    if key.algorithm != signer.algorithm:
        raise AttestationError(
            f"{attestor.name} expects {key.algorithm.name} for {key.id}, "
            f"the signer uses {signer.algorithm.name}",
            hint="make the attestor's signature algorithm match the key's (e.g. PSS vs PKCS#1)",
        )
    return key


@dataclass(frozen=True)
class AttestationCheck:
    """Whether one attestation is valid for an image, and every reason it is not."""

    valid: bool
    key_ids: tuple[str, ...] = ()  # the attestor keys whose signatures verified
    reasons: tuple[str, ...] = ()


def check_attestation(
    payload: bytes,
    signatures: Iterable[tuple[bytes, str]],
    ref: ImageRef,
    attestor: Attestor,
) -> AttestationCheck:
    """Verify ``payload`` and its ``(signature, public_key_id)`` pairs for image ``ref``."""
    reasons: list[str] = []
    try:
        parsed = parse_payload(payload)
    except PayloadError as exc:
        return AttestationCheck(False, reasons=(exc.message,))
    if parsed.digest != ref.digest:
        reasons.append(f"the payload is for digest {parsed.digest}, not {ref.digest}")
    if parsed.docker_reference != ref.name:
        reasons.append(f"the payload names {parsed.docker_reference}, not {ref.name}")
    verified: list[str] = []
    pairs = list(signatures)
    for signature, key_id in pairs:
        key = attestor.key(key_id)
        if key is None:
            reasons.append(f"signed by {key_id}, which is not a key of {attestor.name}")
        elif _verifies(key, payload, signature):
            verified.append(key_id)
        else:
            reasons.append(f"the signature by {key_id} does not verify")
    if not pairs:
        reasons.append("the attestation has no signature")
    elif not verified:
        reasons.append(f"no signature verifies with a key of {attestor.name}")
    valid = bool(verified) and parsed.matches(ref)
    return AttestationCheck(valid, tuple(verified), tuple(reasons) if not valid else ())


def _verifies(key: AttestorKey, payload: bytes, signature: bytes) -> bool:
    try:
        return key.algorithm.verify(key.public_key, payload, signature)
    except KeyMaterialError:
        return False
