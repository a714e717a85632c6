"""in-toto statements carrying SLSA provenance: builder, build type, source, subjects.

Read from the signed payload bytes only (the parsed copies some APIs serve beside an
envelope are not signed). SLSA v1 (``runDetails.builder.id``,
``buildDefinition.buildType``, the source from ``resolvedDependencies`` or
``externalParameters``), v0.2 (``invocation.configSource``, ``materials``) and v0.1
(``recipe.type``, ``materials``) as Cloud Build, GitHub's SLSA generator and BuildKit
write them. A source repository is written without scheme, ``git+`` or ``.git``
(``github.com/org/repo``) so one pattern covers every spelling; the revision is the
commit (``gitCommit`` or ``sha1``), the ref what followed ``@`` in the URI.

    >>> normalize_repository("git+https://github.com/org/app.git@refs/heads/main")
    ('github.com/org/app', 'refs/heads/main')
    >>> read_statement(b'{"_type": "https://in-toto.io/Statement/v1", "subject": [],'
    ...                b' "predicateType": "https://spdx.dev/Document", "predicate": {}}') is None
    True
"""

from __future__ import annotations

import re
from typing import Any

from gate.facts import ShapeError, arr, obj, parse_json, text
from gate.facts.provenance.interface import ProvenanceClaims, Subject

STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V01 = "https://slsa.dev/provenance/v0.1"
PROVENANCE_TYPES = (SLSA_V1, SLSA_V02, SLSA_V01)
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SCHEME = re.compile(r"^(git\+)?[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def read_header(payload: bytes) -> tuple[dict[str, Any], str, tuple[Subject, ...]]:
    """(statement, predicate type, subjects) of an in-toto statement; ShapeError if malformed."""
    doc = obj(parse_json(payload), "statement")
    kind = doc.get("_type")
    if kind not in STATEMENT_TYPES:
        raise ShapeError(f"_type is {kind!r}, not an in-toto statement")
    predicate_type = text(doc.get("predicateType"), "predicateType")
    subjects = tuple(_subject(s, i) for i, s in enumerate(arr(doc.get("subject"), "subject")))
    return doc, predicate_type, subjects


def read_statement(payload: bytes) -> ProvenanceClaims | None:
    """The provenance claims in an in-toto statement; ``None`` for another predicate
    type (an SBOM, a scan); :class:`ShapeError` for a malformed statement."""
    doc, predicate_type, subjects = read_header(payload)
    if predicate_type not in PROVENANCE_TYPES:
        return None
    predicate = obj(doc.get("predicate"), "predicate")
    if predicate_type == SLSA_V1:
        builder, build_type, source = _v1(predicate)
    else:
        builder, build_type, source = _v0(predicate, predicate_type)
    return ProvenanceClaims(predicate_type, builder, build_type, *source, subjects)


def _subject(raw: Any, index: int) -> Subject:
    item = obj(raw, f"subject[{index}]")
    digests = obj(item.get("digest"), f"subject[{index}].digest", nullable=True)
    found = next(
        (
            f"{alg}:{value}"
            for alg in ("sha256", "sha512")
            if isinstance(value := digests.get(alg), str)
        ),
        "",
    )
    return Subject(str(item.get("name") or ""), found.lower())


def _v1(predicate: dict[str, Any]) -> tuple[str, str, tuple[str, str, str]]:
    definition = obj(predicate.get("buildDefinition"), "predicate.buildDefinition")
    run = obj(predicate.get("runDetails"), "predicate.runDetails")
    builder = text(obj(run.get("builder"), "runDetails.builder").get("id"), "builder.id")
    build_type = text(definition.get("buildType"), "buildDefinition.buildType")
    dependencies = arr(
        definition.get("resolvedDependencies"), "resolvedDependencies", nullable=True
    )
    source = _first_git(dependencies)
    if source is None:
        external = obj(definition.get("externalParameters"), "externalParameters", nullable=True)
        source = _external_source(external)
    return builder, build_type, source


def _v0(predicate: dict[str, Any], predicate_type: str) -> tuple[str, str, tuple[str, str, str]]:
    builder = text(obj(predicate.get("builder"), "predicate.builder").get("id"), "builder.id")
    if predicate_type == SLSA_V02:
        build_type = text(predicate.get("buildType"), "predicate.buildType")
        invocation = obj(predicate.get("invocation"), "invocation", nullable=True)
        config = obj(invocation.get("configSource"), "configSource", nullable=True)
        candidates = [config] if config.get("uri") else []
    else:
        recipe = obj(predicate.get("recipe"), "predicate.recipe", nullable=True)
        build_type = str(recipe.get("type") or "")
        candidates = []
    materials = arr(predicate.get("materials"), "materials", nullable=True)
    source = _first_git(candidates + materials) or ("", "", "")
    return builder, build_type, source


def _first_git(items: list[Any]) -> tuple[str, str, str] | None:
    """(repository, revision, ref) of the first item naming a git commit."""
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
            continue
        raw = item.get("digest")
        digests: dict[str, Any] = raw if isinstance(raw, dict) else {}
        revision = next(
            (v for k in ("gitCommit", "sha1") if isinstance(v := digests.get(k), str)), ""
        )
        if revision or item["uri"].startswith("git+"):
            repository, ref = normalize_repository(item["uri"])
            return repository, revision.lower(), ref
    return None


def _external_source(external: dict[str, Any]) -> tuple[str, str, str]:
    for key in ("buildConfigSource", "workflow", "source"):
        part = external.get(key)
        if isinstance(part, dict) and isinstance(part.get("repository"), str):
            repository, _ = normalize_repository(part["repository"])
            return repository, "", str(part.get("ref") or "")
    return "", "", ""


def normalize_repository(uri: str) -> tuple[str, str]:
    """(``host/path`` without scheme, user, ``git+`` or ``.git``; the ref after ``@`` if any)."""
    text = uri.strip()
    body = _SCHEME.sub("", text)
    host, slash, path = body.partition("/")
    if body != text and "@" in host:  # user information: git+ssh://git@github.com/…
        body = host.rpartition("@")[2] + slash + path
    head, at, tail = body.rpartition("@")
    ref = ""
    if at and "/" in head and (tail.startswith("refs/") or _COMMIT.fullmatch(tail)):
        body, ref = head, tail
    body = body.removesuffix("/").removesuffix(".git")
    return body, ref
