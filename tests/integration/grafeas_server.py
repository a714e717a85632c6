"""Grafeas v1 (Container Analysis) occurrences served from memory, for tests.

:class:`GrafeasServicer` implements the occurrence RPCs gate calls, for the real
``grafeas`` client: GetOccurrence, CreateOccurrence (kind, resource and note required,
as the service checks) and ListOccurrences with ``parent``, the filters gate sends
(``field="value" AND …`` over resourceUrl, kind, noteProjectId and noteId; anything
else is INVALID_ARGUMENT, as a typo would be on the real service) and page_size /
page_token paging. It plugs into :class:`GoogleApiServer` next to other servicers.
:func:`discovery_occurrence`, :func:`vulnerability_occurrence`,
:func:`multi_package_occurrence` and :func:`build_occurrence` (Cloud Build's signed
provenance) build test data.

    >>> grafeas = GrafeasServicer()
    >>> with GoogleApiServer() as server:
    ...     _ = server.add(grafeas)
    ...     address = server.start().address
    >>> parse_filter('kind="VULNERABILITY" AND resourceUrl="https://h/r@sha256:1"')
    [('kind', 'VULNERABILITY'), ('resourceUrl', 'https://h/r@sha256:1')]
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable

import grpc
from google.protobuf import timestamp_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]
from grafeas.grafeas_v1 import (
    BuildOccurrence,
    CreateOccurrenceRequest,
    DiscoveryOccurrence,
    Envelope,
    EnvelopeSignature,
    GetOccurrenceRequest,
    InTotoSlsaProvenanceV1,
    InTotoStatement,
    ListOccurrencesRequest,
    ListOccurrencesResponse,
    NoteKind,
    Occurrence,
    SlsaProvenance,
    Version,
    VulnerabilityOccurrence,
)

from tests.integration.google_api_server import Abort, GoogleApiServer, ProtoService

__all__ = [
    "FILTER_FIELDS",
    "GoogleApiServer",
    "GrafeasServicer",
    "build_occurrence",
    "discovery_occurrence",
    "multi_package_occurrence",
    "parse_filter",
    "vulnerability_occurrence",
]

_CLAUSE = r'(\w+)\s*=\s*"([^"\\]*)"'
_FILTER_RE = re.compile(rf"\s*{_CLAUSE}(?:\s+AND\s+{_CLAUSE})*\s*")
_PARENT_RE = re.compile(r"projects/[^/]+")


def _note_parts(occurrence: Occurrence) -> tuple[str, str]:
    project, _, note = occurrence.note_name.partition("/notes/")
    return project.removeprefix("projects/"), note


FILTER_FIELDS: dict[str, Callable[[Occurrence], str]] = {
    "resourceUrl": lambda o: str(o.resource_uri),
    "kind": lambda o: o.kind.name,
    "noteProjectId": lambda o: _note_parts(o)[0],
    "noteId": lambda o: _note_parts(o)[1],
}
"""The filter fields served (Container Analysis names); anything else is INVALID_ARGUMENT."""


def parse_filter(text: str) -> list[tuple[str, str]]:
    """``a="x" AND b="y"`` → ``[("a", "x"), ("b", "y")]``; :class:`Abort` if unsupported."""
    if not text.strip():
        return []
    if not _FILTER_RE.fullmatch(text):
        raise Abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported filter syntax: {text}")
    clauses = re.findall(_CLAUSE, text)
    unknown = [name for name, _ in clauses if name not in FILTER_FIELDS]
    if unknown:
        raise Abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown filter field {unknown[0]}")
    return clauses


class GrafeasServicer(ProtoService):
    """Grafeas v1 occurrences, in memory (``occurrences`` by name, insertion-ordered)."""

    service = "grafeas.v1.Grafeas"
    methods = {
        "GetOccurrence": (GetOccurrenceRequest, Occurrence),
        "ListOccurrences": (ListOccurrencesRequest, ListOccurrencesResponse),
        "CreateOccurrence": (CreateOccurrenceRequest, Occurrence),
    }
    default_page_size = 100
    max_page_size = 1000

    def __init__(self) -> None:
        super().__init__()
        self.occurrences: dict[str, Occurrence] = {}

    def put(self, project: str, occurrence: Occurrence) -> Occurrence:
        """Store ``occurrence`` in ``projects/project`` (named if it has no name)."""
        stored = Occurrence(occurrence)
        if not stored.name:
            stored.name = f"projects/{project}/occurrences/{uuid.uuid4()}"
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        stored.create_time = stored.create_time or now
        stored.update_time = now
        with self.lock:
            self.occurrences[stored.name] = stored
        return stored

    def GetOccurrence(self, request: GetOccurrenceRequest) -> Occurrence:
        with self.lock:
            found = self.occurrences.get(request.name)
        if found is None:
            raise Abort(grpc.StatusCode.NOT_FOUND, f"occurrence {request.name} not found")
        return found

    def CreateOccurrence(self, request: CreateOccurrenceRequest) -> Occurrence:
        _check_parent(request.parent)
        new = request.occurrence
        missing = [f for f in ("resource_uri", "note_name") if not getattr(new, f)]
        if missing or new.kind == NoteKind.NOTE_KIND_UNSPECIFIED:
            what = ", ".join(missing + (["kind"] if not new.kind else []))
            raise Abort(grpc.StatusCode.INVALID_ARGUMENT, f"occurrence is missing {what}")
        new.name = ""
        return self.put(request.parent.removeprefix("projects/"), new)

    def ListOccurrences(self, request: ListOccurrencesRequest) -> ListOccurrencesResponse:
        _check_parent(request.parent)
        clauses = parse_filter(request.filter)
        with self.lock:
            matching = [
                o
                for name, o in self.occurrences.items()
                if name.startswith(f"{request.parent}/occurrences/")
                and all(FILTER_FIELDS[k](o) == v for k, v in clauses)
            ]
        size = min(request.page_size or self.default_page_size, self.max_page_size)
        query = hashlib.sha256(f"{request.parent}\n{request.filter}".encode()).hexdigest()[:16]
        start = 0
        if request.page_token:
            offset, _, token_query = request.page_token.partition(".")
            if token_query != query or not offset.isdigit():
                raise Abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid page_token")
            start = int(offset)
        end = start + size
        token = f"{end}.{query}" if end < len(matching) else ""
        return ListOccurrencesResponse(occurrences=matching[start:end], next_page_token=token)


def _check_parent(parent: str) -> None:
    if not _PARENT_RE.fullmatch(parent):
        raise Abort(grpc.StatusCode.INVALID_ARGUMENT, f"parent {parent!r} is not projects/ID")


def discovery_occurrence(resource: str, status: int, *reasons: str, name: str = "") -> Occurrence:
    """Artifact Analysis' DISCOVERY occurrence for ``resource``; ``reasons`` become its
    ``analysis_status_error`` (the first) and ``analysis_error`` (the others)."""
    found = DiscoveryOccurrence(analysis_status=status)
    if reasons:
        found.analysis_status_error = status_pb2.Status(code=9, message=reasons[0])
        found.analysis_error = [status_pb2.Status(code=9, message=r) for r in reasons[1:]]
    note = "projects/goog-analysis/notes/PACKAGE_VULNERABILITY"
    return Occurrence(
        name=name, resource_uri=resource, note_name=note, kind=NoteKind.DISCOVERY, discovery=found
    )


def vulnerability_occurrence(resource: str, cve: str, severity: int, *fixed: bool) -> Occurrence:
    """A VULNERABILITY occurrence in openssl: one package issue per ``fixed`` flag
    (default one, with a fix); an issue without a fix has a MAXIMUM fixed version."""
    kind = Version.VersionKind
    issues = [
        VulnerabilityOccurrence.PackageIssue(
            affected_package="openssl",
            package_type="OS",
            fix_available=has_fix,
            affected_version=Version(name="3.0.11", revision="1~deb12u1", kind=kind.NORMAL),
            fixed_version=Version(name="3.0.13", revision="1~deb12u1", kind=kind.NORMAL)
            if has_fix
            else Version(kind=kind.MAXIMUM),
        )
        for has_fix in fixed or (True,)
    ]
    found = VulnerabilityOccurrence(
        severity=severity,
        effective_severity=severity,
        cvss_score=7.5,
        package_issue=issues,
        fix_available=any(fixed or (True,)),
    )
    return Occurrence(
        resource_uri=resource,
        note_name=f"projects/goog-vulnz/notes/{cve}",
        kind=NoteKind.VULNERABILITY,
        vulnerability=found,
    )


def multi_package_occurrence(
    resource: str, cve: str, severity: int, packages: list[tuple[str, str, str | None]]
) -> Occurrence:
    """A VULNERABILITY occurrence of ``cve`` in several packages, as Artifact Analysis
    reports a CVE fixed in openssl and libssl3 at once: one package issue per
    ``(package, installed version, fixed version or None)``, each with the occurrence's
    severity; the occurrence's ``fix_available`` is set when any package has a fix."""
    kind = Version.VersionKind
    issues = [
        VulnerabilityOccurrence.PackageIssue(
            affected_package=package,
            package_type="OS",
            affected_version=Version(name=installed, kind=kind.NORMAL),
            fixed_version=Version(name=fixed, kind=kind.NORMAL)
            if fixed
            else Version(kind=kind.MAXIMUM),
            fix_available=fixed is not None,
            effective_severity=severity,
        )
        for package, installed, fixed in packages
    ]
    found = VulnerabilityOccurrence(
        severity=severity,
        effective_severity=severity,
        cvss_score=9.8,
        package_issue=issues,
        fix_available=any(fixed for _, _, fixed in packages),
    )
    return Occurrence(
        resource_uri=resource,
        note_name=f"projects/goog-vulnz/notes/{cve}",
        kind=NoteKind.VULNERABILITY,
        vulnerability=found,
    )


def build_occurrence(
    resource: str,
    payload: bytes,
    signatures: list[tuple[bytes, str]],
    *,
    slsa_v1: bool = True,
    builder_id: str = "https://cloudbuild.googleapis.com/GoogleHostedWorker",
) -> Occurrence:
    """A BUILD occurrence as Cloud Build writes it for an image pushed with ``images:``:
    the note in ``projects/verified-builder``, the parsed statement in
    ``build.in_toto_slsa_provenance_v1`` (SLSA v1) or ``build.intoto_statement`` (v0.1),
    and the DSSE ``envelope`` whose ``payload`` is the statement's JSON, signed by
    ``signatures`` ((signature, keyid) pairs). ``builder_id`` goes into the parsed copy
    only: it is not signed, and a test can make it disagree with the payload."""
    build_id = uuid.uuid4()
    if slsa_v1:
        provenance = InTotoSlsaProvenanceV1(
            type_="https://in-toto.io/Statement/v1",
            predicate_type="https://slsa.dev/provenance/v1",
            predicate=InTotoSlsaProvenanceV1.SlsaProvenanceV1(
                run_details=InTotoSlsaProvenanceV1.RunDetails(
                    builder=InTotoSlsaProvenanceV1.ProvenanceBuilder(id=builder_id)
                )
            ),
        )
        build = BuildOccurrence(in_toto_slsa_provenance_v1=provenance)
        note = f"projects/verified-builder/notes/intoto_slsa_v1_{build_id}"
    else:
        statement = InTotoStatement(
            type_="https://in-toto.io/Statement/v0.1",
            predicate_type="https://slsa.dev/provenance/v0.1",
            slsa_provenance=SlsaProvenance(builder=SlsaProvenance.SlsaBuilder(id=builder_id)),
        )
        build = BuildOccurrence(intoto_statement=statement)
        note = f"projects/verified-builder/notes/intoto_{build_id}"
    envelope = Envelope(
        payload=payload,
        payload_type="application/vnd.in-toto+json",
        signatures=[EnvelopeSignature(sig=sig, keyid=keyid) for sig, keyid in signatures],
    )
    return Occurrence(
        resource_uri=resource, note_name=note, kind=NoteKind.BUILD, build=build, envelope=envelope
    )
