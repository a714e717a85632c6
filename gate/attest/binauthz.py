"""Binary Authorization attestors and Container Analysis attestation occurrences.

:func:`read_attestor` reads an attestor (note, PKIX keys) with the real
``BinauthzManagementServiceV1Client``. :class:`Attestations` creates the ATTESTATION
occurrence for an image, idempotently: if a valid attestation by the attestor already
exists for the digest nothing is signed or stored; ALREADY_EXISTS counts as success; a
create that failed in transit is retried only after listing shows it did not land; and
attestations of one image are serialised within the process (five threads, one
occurrence). Container Analysis has no conditional create, so two *processes* attesting
the same new digest at the same instant can still both store one; both verify, and every
later run stores nothing.

    >>> attestor = read_attestor(binauthz_client(endpoint), "projects/p/attestors/a")  # doctest: +SKIP
    >>> attestations = Attestations(attestor, grafeas_client(endpoint))      # doctest: +SKIP
    >>> attestations.attest(ref, signer).status                             # doctest: +SKIP
    'created'
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import binaryauthorization_v1 as binauthz
from grafeas import grafeas_v1

from gate.attest.algorithms import KeyMaterialError
from gate.attest.attestor import AttestationError, Attestor, AttestorKey, check_signer
from gate.attest.clients import last_error, read_retry
from gate.attest.payload import build_payload
from gate.attest.signers.interface import Signer
from gate.attest.store import OccurrenceStore, check_occurrence, resource_uri
from gate.facts.google import rpc_error
from gate.reference import ImageRef

_ATTESTOR_RE = re.compile(r"projects/[^/]+/attestors/[^/]+")
_NOTE_RE = re.compile(r"projects/[^/]+/notes/[^/]+")
_ATTESTOR_HINTS: dict[type[gexc.GoogleAPICallError], str] = {
    gexc.NotFound: "create the attestor (docs/attestation.md) or check its project and name",
    gexc.PermissionDenied: "grant gate roles/binaryauthorization.attestorsViewer on the attestor",
}
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def read_attestor(
    client: binauthz.BinauthzManagementServiceV1Client, name: str, *, timeout: float = 30.0
) -> Attestor:
    """Read ``projects/P/attestors/A``: its note and its usable PKIX public keys."""
    if not _ATTESTOR_RE.fullmatch(name):
        raise AttestationError(
            f"{name!r} is not an attestor name", hint="write projects/PROJECT/attestors/NAME"
        )
    try:
        proto = client.get_attestor(name=name, retry=read_retry(timeout), timeout=timeout)
    except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
        raise rpc_error(
            last_error(exc),
            f"reading attestor {name}",
            AttestationError,
            service="binaryauthorization.googleapis.com",
            project=name.split("/")[1],
            target="Binary Authorization",
            overrides=_ATTESTOR_HINTS,
        ) from exc
    note = proto.user_owned_grafeas_note
    if not note or not _NOTE_RE.fullmatch(note.note_reference):
        raise AttestationError(
            f"attestor {name} has no user-owned Grafeas note",
            hint="gate stores attestations on the attestor's note: recreate it with "
            "--attestation-authority-note",
        )
    keys: list[AttestorKey] = []
    skipped: list[str] = []
    for key in note.public_keys:
        if not key.pkix_public_key.public_key_pem:
            skipped.append(f"{key.id}: PGP keys are not supported by gate")
            continue
        pkix = key.pkix_public_key
        alg_name = binauthz.PkixPublicKey.SignatureAlgorithm(pkix.signature_algorithm).name
        try:
            keys.append(AttestorKey.from_pem(key.id, pkix.public_key_pem, alg_name))
        except KeyMaterialError as exc:
            skipped.append(f"{key.id}: {exc.message}")
    if not keys:
        raise AttestationError(
            f"attestor {name} has no usable PKIX public key"
            + (f" ({'; '.join(skipped)})" if skipped else ""),
            hint=f"add one: gcloud container binauthz attestors public-keys add "
            f"--attestor={name} --keyversion=…",
        )
    return Attestor(name, note.note_reference, tuple(keys), tuple(skipped))


@dataclass(frozen=True)
class AttestOutcome:
    """``status``: ``created``, ``exists`` (a valid attestation was there) or ``dry-run``."""

    status: str
    occurrence: grafeas_v1.Occurrence
    message: str

    def occurrence_dict(self) -> dict[str, Any]:
        """The occurrence as the REST API shows it (enum names, bytes in base64)."""
        return dict(grafeas_v1.Occurrence.to_dict(self.occurrence, use_integers_for_enums=False))


class Attestations:
    """Attest images for one attestor, storing occurrences in ``projects/<project>``."""

    def __init__(
        self,
        attestor: Attestor,
        grafeas: grafeas_v1.GrafeasClient,
        *,
        project: str = "",
        timeout: float = 30.0,
        attempts: int = 3,
    ) -> None:
        self.attestor = attestor
        self.store = OccurrenceStore(grafeas, project or attestor.project, timeout=timeout)
        self._attempts = attempts

    def find_valid(self, ref: ImageRef) -> grafeas_v1.Occurrence | None:
        """A stored attestation by this attestor that verifies for ``ref``, if any."""
        for occurrence in self.store.list(resource_uri(ref), self.attestor.note_name):
            if check_occurrence(occurrence, ref, self.attestor).valid:
                return occurrence
        return None

    def attest(self, ref: ImageRef, signer: Signer, *, dry_run: bool = False) -> AttestOutcome:
        """Sign and store an attestation for ``ref`` unless a valid one exists."""
        key = check_signer(self.attestor, signer)
        payload = build_payload(ref)
        uri = resource_uri(ref)
        with _lock_for(uri, self.attestor.note_name):
            existing = self.find_valid(ref)
            if existing is not None:
                return AttestOutcome(
                    "exists",
                    existing,
                    f"{ref.name}@{ref.digest} is already attested by "
                    f"{self.attestor.name} ({existing.name}); nothing signed or stored",
                )
            if dry_run:
                draft = self._occurrence(uri, payload, b"", key.id)
                return AttestOutcome("dry-run", draft, "dry run: nothing signed or stored")
            signature = signer.sign(payload)
            occurrence = self._occurrence(
                uri, payload, signature.signature, signature.public_key_id
            )
            if not check_occurrence(occurrence, ref, self.attestor).valid:
                raise AttestationError(
                    f"the new attestation for {uri} does not verify with {key.id}",
                    hint="nothing was stored; check the signer and the attestor's key",
                )
            return self._create(occurrence, ref)

    def _occurrence(
        self, uri: str, payload: bytes, signature: bytes, key_id: str
    ) -> grafeas_v1.Occurrence:
        return grafeas_v1.Occurrence(
            resource_uri=uri,
            note_name=self.attestor.note_name,
            kind=grafeas_v1.NoteKind.ATTESTATION,
            attestation=grafeas_v1.AttestationOccurrence(
                serialized_payload=payload,
                signatures=[grafeas_v1.Signature(signature=signature, public_key_id=key_id)],
            ),
        )

    def _create(self, occurrence: grafeas_v1.Occurrence, ref: ImageRef) -> AttestOutcome:
        delay = 0.2
        for attempt in range(1, self._attempts + 1):
            try:
                created = self.store.create(occurrence)
                return AttestOutcome("created", created, f"stored {created.name}")
            except gexc.AlreadyExists:
                found = self.find_valid(ref) or occurrence
                return AttestOutcome("exists", found, "Container Analysis already had it")
            except (
                gexc.ServiceUnavailable,
                gexc.DeadlineExceeded,
                gexc.InternalServerError,
            ) as exc:
                landed = self._landed(ref)
                if landed is not None:
                    return AttestOutcome("created", landed, f"stored {landed.name} (confirmed)")
                if attempt == self._attempts:
                    raise self.store.error(exc, f"storing the attestation of {ref}") from exc
                time.sleep(delay)
                delay *= 2
            except gexc.GoogleAPICallError as exc:
                raise self.store.error(exc, f"storing the attestation of {ref}") from exc
        raise AssertionError("unreachable")

    def _landed(self, ref: ImageRef) -> grafeas_v1.Occurrence | None:
        try:
            return self.find_valid(ref)
        except AttestationError:
            return None


def _lock_for(uri: str, note: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((uri, note), threading.Lock())
