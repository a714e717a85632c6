"""Signers, and :func:`load_signer` to pick one from a ``--key`` value.

``--key`` forms:

* Cloud KMS: ``projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N``,
  optionally prefixed ``gcpkms://`` or ``//cloudkms.googleapis.com/v1/``;
* PKCS#11, an RFC 7512 URI: ``pkcs11:token=gate;object=attestor?module-path=/usr/lib/
  softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin`` (``id=%01`` selects by id;
  ``x-pin-env=VAR`` reads the PIN from a variable; ``pin-value`` is refused: a PIN in a
  command line ends up in logs);
* a local PEM private key (development): ``file:/path/key.pem`` or a plain path.

    >>> kms_key_version("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2")
    'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gate.attest.signers.interface import Signature, Signer, SignerError
from gate.attest.signers.pkcs11_config import Pkcs11Config, parse_pkcs11_uri
from gate.facts.google import GoogleEndpoint

__all__ = [
    "Pkcs11Config",
    "Signature",
    "Signer",
    "SignerError",
    "SignerOptions",
    "load_signer",
    "parse_pkcs11_uri",
]
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


def load_signer(spec: str, options: SignerOptions | None = None) -> Signer:
    """The signer for a ``--key`` value (see the module docstring for the forms)."""
    opts = options or SignerOptions()
    version = kms_key_version(spec)
    if version is not None:  # imported here: the KMS client and python-pkcs11 only when used
        from gate.attest.clients import kms_client
        from gate.attest.signers.kms import KmsSigner

        return KmsSigner(version, kms_client(opts.kms_endpoint), timeout=opts.timeout)
    if spec.startswith("pkcs11:"):
        from gate.attest.signers.pkcs11 import Pkcs11Signer

        config = parse_pkcs11_uri(
            spec,
            module=opts.pkcs11_module,
            pin_env=opts.pin_env,
            pin_file=opts.pin_file,
            public_key_id=opts.public_key_id,
            rsa_padding=opts.rsa_padding,
        )
        return Pkcs11Signer(config)
    from gate.attest.signers.local import LocalKeySigner

    return LocalKeySigner.from_file(
        Path(spec.removeprefix("file://").removeprefix("file:")),
        password_env=opts.password_env,
        public_key_id=opts.public_key_id,
        rsa_padding=opts.rsa_padding,
    )
