"""Sign with a Cloud KMS asymmetric key version through ``google-cloud-kms``.

``GetPublicKey`` tells the algorithm and the PEM (both checked: response name, PEM
CRC32C, key type and size); the digest is chosen from the algorithm and sent with its
CRC32C. The reply must name the same key version, confirm it received the digest
intact (``verified_digest_crc32c``) and carry a ``signature_crc32c`` that matches;
the signature is then verified locally before it is returned. ``public_key_id`` is
``//cloudkms.googleapis.com/v1/<key version>``, the id Binary Authorization expects.

    >>> from gate.attest.clients import kms_client
    >>> from gate.facts.google import GoogleEndpoint
    >>> client = kms_client(GoogleEndpoint("127.0.0.1:1", plaintext=True, anonymous=True))
    >>> signer = KmsSigner(
    ...     "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1", client)
    >>> signer.public_key_id
    '//cloudkms.googleapis.com/v1/projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1'
"""

from __future__ import annotations

import re
import threading

import google_crc32c
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import kms_v1

from gate.attest.algorithms import Algorithm, KeyMaterialError, algorithm, load_public_key
from gate.attest.signers.interface import Signature, Signer, SignerError

_VERSION_RE = re.compile(
    r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/cryptoKeyVersions/[^/]+"
)
KMS_KEY_ID_PREFIX = "//cloudkms.googleapis.com/v1/"
_HINTS = {
    api_exceptions.PermissionDenied: "grant gate's service account roles/cloudkms.signerVerifier"
    " (and roles/cloudkms.publicKeyViewer) on the key",
    api_exceptions.NotFound: "check the key version name: projects/P/locations/L/keyRings/R/"
    "cryptoKeys/K/cryptoKeyVersions/N",
    api_exceptions.FailedPrecondition: "the key version must be ENABLED (not disabled, "
    "destroyed or pending generation)",
    api_exceptions.DeadlineExceeded: "Cloud KMS did not answer in time; check the endpoint and "
    "network (Private Service Connect, firewall) and retry",
    api_exceptions.ServiceUnavailable: "Cloud KMS is unreachable; check the endpoint and retry",
    api_exceptions.InvalidArgument: "the key must be an ASYMMETRIC_SIGN key",
}


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


class KmsSigner(Signer):
    def __init__(
        self, key_version: str, client: kms_v1.KeyManagementServiceClient, *, timeout: float = 30.0
    ) -> None:
        if not _VERSION_RE.fullmatch(key_version):
            raise SignerError(
                f"{key_version!r} is not a Cloud KMS key version name",
                hint="write projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N",
            )
        self._name = key_version
        self._client = client
        self._timeout = timeout
        self._retry = api_retry.Retry(
            predicate=api_retry.if_exception_type(api_exceptions.ServiceUnavailable),
            initial=0.1,
            maximum=2.0,
            multiplier=2.0,
            timeout=timeout,
        )
        self._lock = threading.Lock()
        self._public: tuple[Algorithm, str] | None = None

    @property
    def public_key_id(self) -> str:
        return KMS_KEY_ID_PREFIX + self._name

    @property
    def algorithm(self) -> Algorithm:
        return self._load()[0]

    def public_key_pem(self) -> str:
        return self._load()[1]

    def _load(self) -> tuple[Algorithm, str]:
        with self._lock:
            if self._public is None:
                self._public = self._fetch_public_key()
            return self._public

    def _fetch_public_key(self) -> tuple[Algorithm, str]:
        try:
            reply = self._client.get_public_key(
                name=self._name, retry=self._retry, timeout=self._timeout
            )
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError) as exc:
            raise _error(exc, f"reading the public key of {self._name}") from exc
        if reply.name != self._name:
            raise SignerError(
                f"Cloud KMS answered for {reply.name!r}, not {self._name!r}",
                hint="the endpoint is not answering for this key; check the KMS endpoint",
            )
        if reply.pem_crc32c is not None and reply.pem_crc32c != crc32c(reply.pem.encode()):
            raise SignerError(
                f"the public key of {self._name} was corrupted in transit (PEM CRC32C mismatch)",
                hint="retry; if it persists, check the network path to Cloud KMS",
            )
        try:
            alg = algorithm(kms_v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm(reply.algorithm).name)
            alg.check_key(load_public_key(reply.pem))
        except KeyMaterialError as exc:
            raise SignerError(f"{self._name}: {exc.message}", hint=exc.hint) from exc
        return alg, reply.pem

    def sign(self, payload: bytes) -> Signature:
        alg = self.algorithm
        digest = alg.digest(payload)
        request = kms_v1.AsymmetricSignRequest(
            name=self._name,
            digest=kms_v1.Digest(**{alg.hash_name: digest}),
            digest_crc32c=crc32c(digest),
        )
        try:
            reply = self._client.asymmetric_sign(
                request=request, retry=self._retry, timeout=self._timeout
            )
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError) as exc:
            raise _error(exc, f"signing with {self._name}") from exc
        if not reply.verified_digest_crc32c:
            raise SignerError(
                "Cloud KMS did not confirm the digest's CRC32C: the request was corrupted "
                "in transit",
                hint="nothing was signed; retry, and check the network path if it persists",
            )
        if reply.name != self._name:
            raise SignerError(
                f"Cloud KMS signed with {reply.name!r}, not {self._name!r}",
                hint="the signature is discarded; check the key version name and the endpoint",
            )
        if reply.signature_crc32c != crc32c(reply.signature):
            raise SignerError(
                "the signature from Cloud KMS was corrupted in transit (CRC32C mismatch)",
                hint="nothing was stored; retry, and check the network path if it persists",
            )
        return self.self_check(payload, Signature(reply.signature, self.public_key_id))

    def close(self) -> None:
        self._client.transport.close()  # type: ignore[no-untyped-call]


def _error(exc: Exception, doing: str) -> SignerError:
    if isinstance(exc, api_exceptions.RetryError):
        return SignerError(
            f"Cloud KMS stayed unavailable while {doing}: {exc.message}",
            hint=_HINTS[api_exceptions.ServiceUnavailable],
        )
    hint = next((h for cls, h in _HINTS.items() if isinstance(exc, cls)), "")
    assert isinstance(exc, api_exceptions.GoogleAPICallError)
    code = exc.grpc_status_code.name if exc.grpc_status_code else str(exc.code)
    return SignerError(f"Cloud KMS failed while {doing}: {code}: {exc.message}", hint=hint)
