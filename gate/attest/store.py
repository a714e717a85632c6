"""Attestation occurrences in Container Analysis (Grafeas v1), and their local check.

:class:`OccurrenceStore` lists the ATTESTATION occurrences of one resource and note in
``projects/P`` (every page; the filter is re-applied here, so a server that ignores
part of it cannot hand gate another image's attestation) and creates occurrences.
:func:`check_occurrence` verifies one occurrence for an image against an attestor.

    >>> from gate.reference import parse_reference
    >>> resource_uri(parse_reference("gcr.io/p/app:1@sha256:" + "c" * 64))[:31]
    'https://gcr.io/p/app@sha256:ccc'
    >>> attestation_filter("https://gcr.io/p/app@sha256:…", "projects/p/notes/n")[:55]
    'kind="ATTESTATION" AND resourceUrl="https://gcr.io/p/ap'
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api_core import exceptions as gexc
from grafeas import grafeas_v1

from gate.attest.attestor import AttestationCheck, AttestationError, Attestor, check_attestation
from gate.attest.clients import last_error, read_retry
from gate.facts.google import rpc_error
from gate.reference import ImageRef

_HINTS: dict[type[gexc.GoogleAPICallError], str] = {
    gexc.PermissionDenied: "grant gate roles/containeranalysis.notes.attacher on the note and "
    "roles/containeranalysis.occurrences.editor on project {project}",
}


def resource_uri(ref: ImageRef) -> str:
    """``https://registry/repository@sha256:…``, as Binary Authorization looks it up."""
    return f"https://{ref.name}@{ref.digest}"


def attestation_filter(uri: str, note_name: str) -> str:
    """The Container Analysis filter for ``uri``'s attestations on ``note_name``."""
    project, _, note = note_name.removeprefix("projects/").partition("/notes/")
    return (
        f'kind="ATTESTATION" AND resourceUrl="{uri}" '
        f'AND noteProjectId="{project}" AND noteId="{note}"'
    )


class OccurrenceStore:
    def __init__(
        self, client: grafeas_v1.GrafeasClient, project: str, *, timeout: float = 30.0
    ) -> None:
        self.client = client
        self.project = project
        self.timeout = timeout

    @property
    def parent(self) -> str:
        return f"projects/{self.project}"

    def list(self, uri: str, note_name: str) -> list[grafeas_v1.Occurrence]:
        """Every ATTESTATION occurrence of ``uri`` on ``note_name`` in the project."""
        request = grafeas_v1.ListOccurrencesRequest(
            parent=self.parent, filter=attestation_filter(uri, note_name), page_size=100
        )
        try:
            pages = self.client.list_occurrences(
                request=request, retry=read_retry(self.timeout), timeout=self.timeout
            )
            found = list(pages)
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise self.error(last_error(exc), f"listing the attestations of {uri}") from exc
        return [
            o
            for o in found
            if o.resource_uri == uri
            and o.note_name == note_name
            and o.kind == grafeas_v1.NoteKind.ATTESTATION
        ]

    def create(self, occurrence: grafeas_v1.Occurrence) -> grafeas_v1.Occurrence:
        """Create ``occurrence``: raises the client's exception as is (the caller decides
        whether a failure was transient); never retried by the library, so a create is
        never duplicated behind the caller's back."""
        return self.client.create_occurrence(
            parent=self.parent, occurrence=occurrence, retry=None, timeout=self.timeout
        )

    def error(self, exc: gexc.GoogleAPICallError, doing: str) -> AttestationError:
        return rpc_error(
            exc,
            doing,
            AttestationError,
            service="containeranalysis.googleapis.com",
            project=self.project,
            target="Container Analysis",
            overrides=_HINTS,
        )


@dataclass(frozen=True)
class OccurrenceCheck:
    """The verdict on one stored occurrence."""

    name: str
    check: AttestationCheck

    @property
    def valid(self) -> bool:
        return self.check.valid


def check_occurrence(
    occurrence: grafeas_v1.Occurrence, ref: ImageRef, attestor: Attestor
) -> OccurrenceCheck:
    """Verify one occurrence for ``ref``: right resource and note, payload, signatures."""
    problems: list[str] = []
    if occurrence.resource_uri != resource_uri(ref):
        problems.append(f"the occurrence is about {occurrence.resource_uri}")
    if occurrence.note_name != attestor.note_name:
        problems.append(f"the occurrence is on note {occurrence.note_name}")
    attestation = occurrence.attestation
    if attestation.jwts:
        problems.append("JWT signatures are not verified by gate")
    pairs = [(s.signature, s.public_key_id) for s in attestation.signatures]
    check = check_attestation(attestation.serialized_payload, pairs, ref, attestor)
    if problems:
        check = AttestationCheck(False, check.key_ids, tuple(problems) + check.reasons)
    return OccurrenceCheck(occurrence.name, check)
