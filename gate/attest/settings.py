"""The signing step's settings: one frozen group inside :class:`gate.config.Settings`.

Every ``gate attest`` / ``gate verify`` flag defaults to the variable beside its field.
The PKCS#11 PIN itself is never a setting: only the name of the variable (or the file)
that holds it, read when the session opens.

    >>> AttestSettings.from_env({"GATE_ATTESTOR": "projects/p/attestors/a"}).attestor
    'projects/p/attestors/a'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gate.envparse import fields_from_env
from gate.errors import ConfigError

MODES = ("check-and-sign", "check-only")
RSA_PADDINGS = ("pss", "pkcs1")


@dataclass(frozen=True)
class AttestSettings:
    attestor: str = ""  # GATE_ATTESTOR: projects/P/attestors/A
    key: str = ""  # GATE_ATTEST_KEY: KMS key version, pkcs11: URI, or a PEM file
    mode: str = "check-and-sign"  # GATE_ATTEST_MODE
    attestation_project: str = ""  # GATE_ATTESTATION_PROJECT: "" = the attestor's project
    kms_endpoint: str = ""  # GATE_KMS_ENDPOINT: host:port, "" = Google's
    binauthz_endpoint: str = ""  # GATE_BINAUTHZ_ENDPOINT: host:port, "" = Google's
    google_timeout: float = 30.0  # GATE_GOOGLE_TIMEOUT: seconds per Google API call
    public_key_id: str = ""  # GATE_ATTEST_PUBLIC_KEY_ID: for PKCS#11 and local keys
    rsa_padding: str = "pss"  # GATE_ATTEST_RSA_PADDING: pss or pkcs1 (PKCS#11, local keys)
    pkcs11_module: str = ""  # GATE_PKCS11_MODULE: the PKCS#11 library's path
    pkcs11_pin_env: str = ""  # GATE_PKCS11_PIN_ENV: the variable holding the PIN
    pkcs11_pin_file: str = ""  # GATE_PKCS11_PIN_FILE: or the file holding it

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AttestSettings:
        names = {
            name: f"GATE_ATTEST_{name.upper()}"
            for name in ("key", "mode", "public_key_id", "rsa_padding")
        }
        return cls(**fields_from_env(cls, env, names)).validated()

    def validated(self) -> AttestSettings:
        for what, value, allowed in (
            ("mode", self.mode, MODES),
            ("RSA padding", self.rsa_padding, RSA_PADDINGS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"unknown attest {what} {value!r}", hint=f"choose one of {', '.join(allowed)}"
                )
        return self

    def with_changes(self, **changes: Any) -> AttestSettings:
        """A copy with the non-empty ``changes`` (command-line flags) applied."""
        return replace(
            self, **{k: v for k, v in changes.items() if v not in (None, "")}
        ).validated()
