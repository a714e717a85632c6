"""The deployment's trust for provenance and signatures: one frozen group of settings.

``GATE_TRUSTED_KEYS`` lists PEM public key files and Cloud KMS key versions
(``gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N``, read
with KMS GetPublicKey); ``GATE_SIGSTORE_TRUSTED_ROOT`` names the Sigstore
``trusted_root.json`` keyless signatures are verified under; ``GATE_PROVENANCE_SOURCES``
where gate looks (``registry``, ``artifact-analysis``). With neither keys nor a trusted
root, gate looks nowhere: nothing could be verified, and nothing is fetched.

    >>> TrustSettings.from_env({"GATE_TRUSTED_KEYS": "/etc/gate/release.pub"}).configured
    True
    >>> TrustSettings().configured
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gate.envparse import fields_from_env
from gate.errors import ConfigError

PROVENANCE_SOURCES = ("registry", "artifact-analysis")


@dataclass(frozen=True)
class TrustSettings:
    trusted_keys: tuple[str, ...] = ()  # GATE_TRUSTED_KEYS: PEM files and gcpkms:// keys
    sigstore_trusted_root: str = ""  # GATE_SIGSTORE_TRUSTED_ROOT: trusted_root.json
    provenance_sources: tuple[str, ...] = PROVENANCE_SOURCES  # GATE_PROVENANCE_SOURCES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TrustSettings:
        return cls(**fields_from_env(cls, env)).validated()

    @property
    def configured(self) -> bool:
        return bool(self.trusted_keys or self.sigstore_trusted_root)

    def validated(self) -> TrustSettings:
        unknown = [s for s in self.provenance_sources if s not in PROVENANCE_SOURCES]
        if unknown:
            raise ConfigError(
                f"unknown provenance source {unknown[0]!r}",
                hint=f"GATE_PROVENANCE_SOURCES takes {', '.join(PROVENANCE_SOURCES)}",
            )
        return self
