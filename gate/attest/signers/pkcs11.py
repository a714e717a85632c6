"""Sign with a key in an HSM through PKCS#11 (``python-pkcs11``): Cloud HSM's kmsp11, SoftHSM2, …

The token is found by label and the key by label and/or id. The PIN comes from an
environment variable or a file (first line) and is never logged or put in a message.
The payload is hashed here and the token signs the digest with ``CKM_ECDSA`` (raw
``r||s``, converted to DER), ``CKM_RSA_PKCS_PSS`` (MGF1, salt = digest length) or
``CKM_RSA_PKCS`` over a DigestInfo: the mechanisms every HSM, kmsp11 included, offers.
``public_key_id`` defaults to RFC 6920 ``ni:///sha-256;…`` of the public key.

    >>> config = Pkcs11Config(module="/usr/lib/softhsm/libsofthsm2.so", token_label="gate",
    ...                       key_label="attestor", pin_env="GATE_PKCS11_PIN")
    >>> with Pkcs11Signer(config) as signer:                     # doctest: +SKIP
    ...     signature = signer.sign(payload)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.types import SignMixin
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature

from gate.attest.algorithms import Algorithm, PublicKey, algorithm_for_key, public_key_pem
from gate.attest.algorithms import rfc6920_key_id as _rfc6920
from gate.attest.signers.interface import Signature, Signer, SignerError
from gate.attest.signers.pkcs11_config import Pkcs11Config

_DIGEST_INFO = {  # DER DigestInfo prefixes (RFC 8017 section 9.2, note 1)
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_PSS = {
    "sha256": (Mechanism.SHA256, pkcs11.MGF.SHA256, 32),
    "sha384": (Mechanism.SHA384, pkcs11.MGF.SHA384, 48),
    "sha512": (Mechanism.SHA512, pkcs11.MGF.SHA512, 64),
}
_LIBS_LOCK = threading.Lock()  # pkcs11.lib() loads each module once per process


@dataclass
class _Shared:
    """One logged-in session per token and process.

    PKCS#11 login belongs to the application, and python-pkcs11 logs out when the session
    that logged in closes: signers on one token therefore share a session (and a lock,
    since a session runs one operation at a time), closed when the last signer closes.
    """

    session: pkcs11.Session
    lock: threading.Lock
    users: int = 0


_SHARED: dict[tuple[str, str], _Shared] = {}


class Pkcs11Signer(Signer):
    def __init__(self, config: Pkcs11Config) -> None:
        if not config.key_selector():
            raise SignerError("choose the PKCS#11 key by label or id", hint="e.g. object=attestor")
        self._config = config
        self._token_key = (config.module, config.token_label)
        self._shared: _Shared | None = self._open()
        try:
            self._key, public = self._find_keys()
            self._algorithm = algorithm_for_key(
                public, rsa_padding=config.rsa_padding, hash_name=config.hash_name
            )
        except BaseException:
            self.close()
            raise
        self._public = public
        self._public_key_id = config.public_key_id or _rfc6920(public)

    def _open(self) -> _Shared:
        cfg = self._config
        try:
            with _LIBS_LOCK:
                shared = _SHARED.get(self._token_key)
                if shared is None:
                    token = pkcs11.lib(cfg.module).get_token(token_label=cfg.token_label)
                    session = token.open(user_pin=cfg.read_pin())
                    shared = _SHARED[self._token_key] = _Shared(session, threading.Lock())
                shared.users += 1
                return shared
        except RuntimeError as exc:  # PKCS11Error, and the loader's "cannot load" errors
            hints = {
                p11.NoSuchToken: f"no token labelled {cfg.token_label!r}; list them with "
                "'pkcs11-tool --module … -L' or 'softhsm2-util --show-slots'",
                p11.PinIncorrect: "the PIN was rejected (the PIN itself is not shown)",
                p11.PinLocked: "the user PIN is locked; the token's security officer must reset it",
                p11.UserAlreadyLoggedIn: "another part of this process logged in to the token",
            }
            hint = next((h for c, h in hints.items() if isinstance(exc, c)), "")
            raise SignerError(
                f"cannot open PKCS#11 token {cfg.token_label!r} with {cfg.module}: "
                f"{type(exc).__name__}",
                hint=hint or "check the module path and that the token is present",
            ) from exc

    def _objects(self, object_class: ObjectClass) -> list[Any]:
        """Every object of ``object_class`` matching the selector (the search is consumed
        whole, so no half-read search outlives a session)."""
        attrs: dict[Attribute, Any] = {Attribute.CLASS: object_class}
        if self._config.key_label:
            attrs[Attribute.LABEL] = self._config.key_label
        if self._config.key_id:
            attrs[Attribute.ID] = self._config.key_id
        return list(self._require_session().get_objects(attrs))

    def _find_keys(self) -> tuple[SignMixin, PublicKey]:
        selector = self._config.key_selector()
        found = self._objects(ObjectClass.PRIVATE_KEY)
        if len(found) != 1:
            raise SignerError(
                f"{'no' if not found else 'more than one'} private key on token "
                f"{self._config.token_label!r} matches {selector}",
                hint="select exactly one key by label and/or id",
            )
        private = found[0]
        if not isinstance(private, SignMixin):
            raise SignerError(f"the private key matching {selector} cannot sign")
        return private, self._public_key(private, selector)

    def _public_key(self, private: SignMixin, selector: dict[str, Any]) -> PublicKey:
        publics = self._objects(ObjectClass.PUBLIC_KEY)
        public = publics[0] if len(publics) == 1 else None
        if private.key_type == KeyType.RSA:
            source = public if public is not None else private  # RSA private keys carry n and e
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(source[Attribute.PUBLIC_EXPONENT], "big"),
                int.from_bytes(source[Attribute.MODULUS], "big"),
            )
            return numbers.public_key()
        if private.key_type == KeyType.EC and isinstance(public, pkcs11.PublicKey):
            key = load_der_public_key(encode_ec_public_key(public))
            if isinstance(key, PublicKey):
                return key
        raise SignerError(
            f"cannot read the public key of {selector} (type {private.key_type.name})",
            hint="store the public key object next to the private key (same label/id)",
        )

    def _require_session(self) -> pkcs11.Session:
        if self._shared is None:
            raise SignerError("the PKCS#11 signer is closed", hint="create a new signer")
        return self._shared.session

    @property
    def public_key_id(self) -> str:
        return self._public_key_id

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def public_key_pem(self) -> str:
        return public_key_pem(self._public)

    def sign(self, payload: bytes) -> Signature:
        alg = self._algorithm
        digest = alg.digest(payload)
        try:
            if self._shared is None:
                raise SignerError("the PKCS#11 signer is closed", hint="create a new signer")
            with self._shared.lock:
                if alg.family == "ec":
                    raw = self._key.sign(digest, mechanism=Mechanism.ECDSA)
                    signature = encode_ecdsa_signature(raw)
                elif alg.family == "rsa-pss":
                    param = _PSS[alg.hash_name]
                    signature = self._key.sign(
                        digest, mechanism=Mechanism.RSA_PKCS_PSS, mechanism_param=param
                    )
                else:
                    info = _DIGEST_INFO[alg.hash_name] + digest
                    signature = self._key.sign(info, mechanism=Mechanism.RSA_PKCS)
        except p11.PKCS11Error as exc:
            raise SignerError(
                f"the PKCS#11 token refused to sign with {alg.name}: {type(exc).__name__}",
                hint="check that the key may sign (CKA_SIGN) and the token supports the mechanism",
            ) from exc
        return self.self_check(payload, Signature(signature, self._public_key_id))

    def close(self) -> None:
        with _LIBS_LOCK:
            shared, self._shared = self._shared, None
            if shared is None:
                return
            shared.users -= 1
            if shared.users == 0:
                del _SHARED[self._token_key]
                with shared.lock:
                    shared.session.close()
