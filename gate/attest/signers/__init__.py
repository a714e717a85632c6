"""Signers, and :func:`load_signer` to pick one from a ``--key`` value.

``--key`` forms:

* Cloud KMS: ``projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N``,
  optionally prefixed ``gcpkms://`` or ``//cloudkms.googleapis.com/v1/``;
* PKCS#11, an RFC 7512 URI: ``pkcs11:token=gate;object=attestor?module-path=/usr/lib/
  softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin`` (``id=%01`` selects by id;
  ``x-pin-env=VAR`` reads the PIN from a variable; ``pin-value`` is refused: a PIN in a
  command line ends up in logs);
* a local PEM private key (development): ``file:/path/key.pem`` or a plain path.

    >>> parse_pkcs11_uri("pkcs11:token=gate;object=att;id=%01%02?module-path=/m.so&x-pin-env=PIN")
    Pkcs11Config(module='/m.so', token_label='gate', key_label='att', key_id=b'\\x01\\x02', pin_env='PIN', pin_file='', public_key_id='', rsa_padding='pss', hash_name='')
    >>> kms_key_version("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2")
    'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, unquote_to_bytes

from gate.attest.signers.interface import Signature, Signer, SignerError
from gate.facts.google import GoogleEndpoint

if TYPE_CHECKING:  # imported lazily: python-pkcs11 and the KMS client only when used
    from gate.attest.signers.pkcs11 import Pkcs11Config

__all__ = ["Signature", "Signer", "SignerError", "SignerOptions", "load_signer"]
_KMS_PREFIXES = ("gcpkms://", "//cloudkms.googleapis.com/v1/")


@dataclass(frozen=True)
class SignerOptions:
    kms_endpoint: GoogleEndpoint = field(default_factory=GoogleEndpoint)
    timeout: float = 30.0
    public_key_id: str = ""  # PKCS#11 and local keys; default RFC 6920 ni:///sha-256;…
    rsa_padding: str = "pss"  # PKCS#11 and local RSA keys: pss or pkcs1
    pkcs11_module: str = ""  # when the URI has no module-path
    pin_env: str = ""  # PKCS#11 PIN variable, when the URI names no PIN source
    pin_file: str = ""
    password_env: str = ""  # local encrypted PEM keys


def kms_key_version(spec: str) -> str | None:
    """The KMS key version named by ``spec``, or None if ``spec`` is not a KMS key."""
    for prefix in _KMS_PREFIXES:
        if spec.startswith(prefix):
            return spec[len(prefix) :]
    return spec if spec.startswith("projects/") and "/cryptoKeyVersions/" in spec else None


def parse_pkcs11_uri(uri: str, options: SignerOptions | None = None) -> Pkcs11Config:
    from gate.attest.signers.pkcs11 import Pkcs11Config

    opts = options or SignerOptions()
    path, _, query = uri.removeprefix("pkcs11:").partition("?")
    attrs = dict(_pairs(path, ";"))
    params = dict(_pairs(query, "&"))
    if "pin-value" in attrs or "pin-value" in params:
        raise SignerError(
            "the PKCS#11 URI carries pin-value; gate refuses PINs on the command line",
            hint="use pin-source=file:/path or x-pin-env=VARIABLE",
        )
    pin_file = ""
    if "pin-source" in params:
        pin_file = params["pin-source"].removeprefix("file://").removeprefix("file:")
    if "token" not in attrs:
        raise SignerError(f"PKCS#11 URI {uri!r} has no token=", hint="add token=<label>")
    config = Pkcs11Config(
        module=params.get("module-path", opts.pkcs11_module),
        token_label=unquote(attrs["token"]),
        key_label=unquote(attrs.get("object", "")),
        key_id=unquote_to_bytes(attrs.get("id", "")),
        pin_env=params.get("x-pin-env", ""),
        pin_file=pin_file,
        public_key_id=opts.public_key_id,
        rsa_padding=opts.rsa_padding,
    )
    if not config.module:
        raise SignerError("no PKCS#11 module", hint="add module-path=/path/to/library.so")
    if not config.pin_env and not config.pin_file:
        config = dataclasses.replace(config, pin_env=opts.pin_env, pin_file=opts.pin_file)
    return config


def _pairs(text: str, separator: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, text.split(separator)):
        name, eq, value = item.partition("=")
        if not eq:
            raise SignerError(f"PKCS#11 URI attribute {name!r} has no value", hint="name=value")
        pairs.append((name, unquote(value) if name != "id" else value))
    return pairs


def load_signer(spec: str, options: SignerOptions | None = None) -> Signer:
    """The signer for a ``--key`` value (see the module docstring for the forms)."""
    opts = options or SignerOptions()
    version = kms_key_version(spec)
    if version is not None:
        from gate.attest.clients import kms_client
        from gate.attest.signers.kms import KmsSigner

        return KmsSigner(version, kms_client(opts.kms_endpoint), timeout=opts.timeout)
    if spec.startswith("pkcs11:"):
        from gate.attest.signers.pkcs11 import Pkcs11Signer

        return Pkcs11Signer(parse_pkcs11_uri(spec, opts))
    from gate.attest.signers.local import LocalKeySigner

    return LocalKeySigner.from_file(
        Path(spec.removeprefix("file://").removeprefix("file:")),
        password_env=opts.password_env,
        public_key_id=opts.public_key_id,
        rsa_padding=opts.rsa_padding,
    )
