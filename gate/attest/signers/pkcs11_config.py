"""Which PKCS#11 key to sign with: :class:`Pkcs11Config`, and RFC 7512 ``pkcs11:`` URIs.

Kept apart from :mod:`gate.attest.signers.pkcs11` so that reading the configuration does
not load python-pkcs11. The PIN is read only when a session is opened, from the
environment variable ``pin_env`` or the first line of ``pin_file``; a ``pin-value`` in
a URI is refused, since command lines end up in logs.

    >>> parse_pkcs11_uri("pkcs11:token=gate;object=att;id=%01%02?module-path=/m.so&x-pin-env=PIN")
    Pkcs11Config(module='/m.so', token_label='gate', key_label='att', key_id=b'\\x01\\x02', pin_env='PIN', pin_file='', public_key_id='', rsa_padding='pss', hash_name='')
    >>> Pkcs11Config(module="/m.so", token_label="gate", key_label="att").key_selector()
    {'label': 'att'}
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from gate.attest.signers.interface import SignerError


@dataclass(frozen=True)
class Pkcs11Config:
    module: str  # path of the PKCS#11 library (.so)
    token_label: str
    key_label: str = ""
    key_id: bytes = b""
    pin_env: str = ""  # name of the environment variable holding the PIN
    pin_file: str = ""  # or a file whose first line is the PIN
    public_key_id: str = ""  # default: RFC 6920 ni:///sha-256;… of the public key
    rsa_padding: str = "pss"  # RSA keys: "pss" or "pkcs1"
    hash_name: str = ""  # default: from the key (sha256; sha384 for P-384; sha512 for P-521)

    def key_selector(self) -> dict[str, Any]:
        selector: dict[str, Any] = {}
        if self.key_label:
            selector["label"] = self.key_label
        if self.key_id:
            selector["id"] = self.key_id
        return selector

    def read_pin(self) -> str:
        if self.pin_env and self.pin_file:
            raise SignerError("give the PKCS#11 PIN in an environment variable or a file, not both")
        if self.pin_env:
            pin = os.environ.get(self.pin_env, "")
            if not pin:
                raise SignerError(
                    f"the PKCS#11 PIN variable {self.pin_env} is empty or unset",
                    hint=f"export {self.pin_env} in the signing step's environment",
                )
            return pin
        if self.pin_file:
            try:
                lines = Path(self.pin_file).read_text().splitlines()
            except OSError as exc:
                raise SignerError(
                    f"cannot read the PKCS#11 PIN file {self.pin_file}: {exc.strerror}",
                    hint="mount the PIN file (e.g. from Secret Manager) readable by gate",
                ) from exc
            if lines and lines[0]:
                return lines[0]
            raise SignerError(f"the PKCS#11 PIN file {self.pin_file} is empty")
        raise SignerError(
            "no PKCS#11 PIN source", hint="set pin_env (a variable name) or pin_file (a path)"
        )


def parse_pkcs11_uri(
    uri: str,
    *,
    module: str = "",
    pin_env: str = "",
    pin_file: str = "",
    public_key_id: str = "",
    rsa_padding: str = "pss",
) -> Pkcs11Config:
    """The configuration an RFC 7512 URI names; the keyword arguments fill what it omits."""
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
        module=params.get("module-path", module),
        token_label=unquote(attrs["token"]),
        key_label=unquote(attrs.get("object", "")),
        key_id=unquote_to_bytes(attrs.get("id", "")),
        pin_env=params.get("x-pin-env", ""),
        pin_file=pin_file,
        public_key_id=public_key_id,
        rsa_padding=rsa_padding,
    )
    if not config.module:
        raise SignerError("no PKCS#11 module", hint="add module-path=/path/to/library.so")
    if not config.pin_env and not config.pin_file:
        config = dataclasses.replace(config, pin_env=pin_env, pin_file=pin_file)
    return config


def _pairs(text: str, separator: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, text.split(separator)):
        name, eq, value = item.partition("=")
        if not eq:
            raise SignerError(f"PKCS#11 URI attribute {name!r} has no value", hint="name=value")
        pairs.append((name, unquote(value) if name != "id" else value))
    return pairs
