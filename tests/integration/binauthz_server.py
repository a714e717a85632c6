"""Binary Authorization (attestors, attestation validation) served from memory, for tests.

:class:`BinauthzServicer` implements ``BinauthzManagementServiceV1.GetAttestor`` and
:class:`ValidationHelperServicer` implements ``ValidationHelperV1.
ValidateAttestationOccurrence`` for the real ``google-cloud-binary-authorization``
client. Validation is written here, independently of gate, straight on
``cryptography``: the payload's digest and docker-reference must match the resource
URI, and a signature must verify with the attestor's key of that id and algorithm.

    >>> servicer = BinauthzServicer()
    >>> servicer.add_attestor("projects/p/attestors/a", "projects/p/notes/n", []).name
    'projects/p/attestors/a'
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from google.cloud import binaryauthorization_v1 as binauthz

from tests.integration.google_api_server import Abort, ProtoService

SignatureAlgorithm = binauthz.PkixPublicKey.SignatureAlgorithm
Result = binauthz.ValidateAttestationOccurrenceResponse.Result
PAYLOAD_TYPE = "Google cloud binauthz container signature"


class BinauthzServicer(ProtoService):
    service = "google.cloud.binaryauthorization.v1.BinauthzManagementServiceV1"
    methods = {"GetAttestor": (binauthz.GetAttestorRequest, binauthz.Attestor)}

    def __init__(self) -> None:
        super().__init__()
        self.attestors: dict[str, binauthz.Attestor] = {}

    def add_attestor(
        self, name: str, note: str, keys: Sequence[tuple[str, str, str]], *, pgp: int = 0
    ) -> binauthz.Attestor:
        """``keys``: (id, PEM, signature algorithm name); ``pgp`` adds PGP-only keys."""
        public_keys = [
            binauthz.AttestorPublicKey(
                id=key_id,
                pkix_public_key=binauthz.PkixPublicKey(
                    public_key_pem=pem, signature_algorithm=SignatureAlgorithm[algorithm]
                ),
            )
            for key_id, pem, algorithm in keys
        ]
        public_keys += [
            binauthz.AttestorPublicKey(id=f"PGP{i:040d}", ascii_armored_pgp_public_key="...")
            for i in range(pgp)
        ]
        attestor = binauthz.Attestor(
            name=name,
            user_owned_grafeas_note=binauthz.UserOwnedGrafeasNote(
                note_reference=note, public_keys=public_keys
            ),
        )
        self.attestors[name] = attestor
        return attestor

    def GetAttestor(self, request: binauthz.GetAttestorRequest) -> binauthz.Attestor:
        found = self.attestors.get(request.name)
        if found is None:
            raise Abort(grpc.StatusCode.NOT_FOUND, f"Attestor {request.name} not found.")
        return found


class ValidationHelperServicer(ProtoService):
    service = "google.cloud.binaryauthorization.v1.ValidationHelperV1"
    methods = {
        "ValidateAttestationOccurrence": (
            binauthz.ValidateAttestationOccurrenceRequest,
            binauthz.ValidateAttestationOccurrenceResponse,
        )
    }

    def __init__(self, attestors: BinauthzServicer) -> None:
        super().__init__()
        self.attestors = attestors
        self.deny = ""  # when set, every attestation is ATTESTATION_NOT_VERIFIABLE for this reason

    def ValidateAttestationOccurrence(
        self, request: binauthz.ValidateAttestationOccurrenceRequest
    ) -> binauthz.ValidateAttestationOccurrenceResponse:
        attestor = self.attestors.GetAttestor(binauthz.GetAttestorRequest(name=request.attestor))
        note = attestor.user_owned_grafeas_note
        reason = self.deny or _denial(request, note)
        if reason:
            return binauthz.ValidateAttestationOccurrenceResponse(
                result=Result.ATTESTATION_NOT_VERIFIABLE, denial_reason=reason
            )
        return binauthz.ValidateAttestationOccurrenceResponse(result=Result.VERIFIED)


def _denial(
    request: binauthz.ValidateAttestationOccurrenceRequest, note: binauthz.UserOwnedGrafeasNote
) -> str:
    if request.occurrence_note != note.note_reference:
        return f"occurrence note {request.occurrence_note} is not the attestor's note"
    name, _, digest = request.occurrence_resource_uri.removeprefix("https://").partition("@")
    try:
        critical = json.loads(request.attestation.serialized_payload)["critical"]
    except (ValueError, KeyError, TypeError):
        return "payload is not a container signature payload"
    if critical.get("type") != PAYLOAD_TYPE:
        return "wrong payload type"
    if critical.get("image", {}).get("docker-manifest-digest") != digest:
        return "payload digest does not match the resource"
    if critical.get("identity", {}).get("docker-reference") != name:
        return "payload docker-reference does not match the resource"
    keys = {key.id: key.pkix_public_key for key in note.public_keys}
    for signature in request.attestation.signatures:
        pkix = keys.get(signature.public_key_id)
        if pkix is not None and verify_pkix(
            pkix.public_key_pem,
            SignatureAlgorithm(pkix.signature_algorithm).name,
            request.attestation.serialized_payload,
            signature.signature,
        ):
            return ""
    return "no signature verifies with a key of the attestor"


def verify_pkix(pem: str, algorithm: str, data: bytes, signature: bytes) -> bool:
    """Verify with ``cryptography`` only (independent of gate): ``algorithm`` is a
    Binary Authorization or Cloud KMS name such as ECDSA_P256_SHA256 or RSA_SIGN_PSS_…"""
    key = serialization.load_pem_public_key(pem.encode())
    chosen = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}[
        algorithm.rsplit("_", 1)[1]
    ]()
    try:
        if "ECDSA" in algorithm or algorithm.startswith("EC_SIGN"):
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            key.verify(signature, data, ec.ECDSA(chosen))
        elif isinstance(key, rsa.RSAPublicKey):
            if str(key.key_size) not in algorithm:
                return False
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size)
                if "PSS" in algorithm
                else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, chosen)
        else:
            return False
    except InvalidSignature:
        return False
    return True
