"""Evidence attached to an image in its registry: OCI referrers and cosign's tags.

For ``REGISTRY/REPO@sha256:HEX`` gate looks, through the registry client (approved
registries only; every manifest and blob read by digest, checked against it and cached):

- the OCI referrers API, ``GET /v2/REPO/referrers/sha256:HEX``; a registry without it
  (a 404, as Distribution 2.8 answers) is read through the referrers tag schema: the
  index tagged ``sha256-HEX``, which clients that attach artifacts keep up to date
  (OCI distribution spec 1.1, "Unavailable Referrers API"); an answer paged with
  ``Link: <...>; rel="next"`` is followed within the same registry;
- cosign's tags ``sha256-HEX.sig`` (signatures) and ``sha256-HEX.att`` (attestations).

Each manifest found is read layer by layer (gate.facts.provenance.layers). At most
:data:`MAX_REFERRERS` manifests are read, and :data:`MAX_EVIDENCE_BYTES` of referrer
manifests and layers in all (past that, an error: the image is denied).

    >>> fallback_tag("sha256:" + "ab" * 32)
    'sha256-abababababababababababababababababababababababababababababababab'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from gate.facts.provenance.interface import (
    Evidence,
    EvidenceSource,
    Provenance,
    SignatureFact,
    Unverified,
)
from gate.facts.provenance.judge import Fact, Judge
from gate.facts.provenance.layers import judge_layers, judged
from gate.facts.registry import Deadline, Descriptor, Manifest, RegistryClient, RegistryError
from gate.facts.registry.budget import ReadBudget
from gate.facts.registry.manifest import parse_manifest
from gate.facts.registry.verify import compute_digest, read_limited
from gate.reference import ImageRef

MAX_REFERRERS = 64
MAX_REFERRER_PAGES = 8
# All the referrer manifests and signature and attestation layers read for one image: real
# images carry a few of a few kilobytes; dozens of large ones would cost every review seconds.
MAX_EVIDENCE_BYTES = 32 * 1024 * 1024
EVIDENCE_HINT = (
    "an image carries a few signatures and attestations of a few kilobytes: remove the "
    "extra ones attached to it (its referrers, or cosign's .sig and .att tags)"
)
_UNSUPPORTED = (400, 404, 405)


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag for ``digest``: ``<alg>-<hex>``."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}-{hex_part}"


def next_page(ref: ImageRef, current: str, link: str | None) -> str | None:
    """The path (and query) of the page a ``rel="next"`` link names, resolved against the
    page that named it; a link to another host is refused, never followed."""
    if not link:
        return None
    here, there = urlsplit(current), urlsplit(urljoin(current, link))
    if (there.scheme, there.netloc) != (here.scheme, here.netloc):
        raise RegistryError.for_ref(
            ref,
            f"the registry's next page of referrers is on another host ({there.netloc})",
            hint="gate follows referrer pages only within the image's registry",
        )
    return there.path + (f"?{there.query}" if there.query else "")


@dataclass
class RegistryEvidence(EvidenceSource):
    """Referrers and cosign tags of the image, judged with ``judge``."""

    client: RegistryClient
    judge: Judge

    def evidence(self, ref: ImageRef, deadline: float) -> Evidence:
        assert ref.digest is not None, "evidence is looked up for a pinned reference"
        limit = Deadline(deadline)
        budget = ReadBudget(MAX_EVIDENCE_BYTES, "signatures and attestations", EVIDENCE_HINT)
        found: list[Fact] = []
        errors: list[RegistryError] = []
        try:
            for where, manifest in self._manifests(ref, ref.digest, limit, budget):
                found += judge_layers(self.client, self.judge, ref, manifest, where, limit, budget)
        except RegistryError as exc:
            errors.append(exc)
        return Evidence(
            provenance=tuple(f for f in found if isinstance(f, Provenance)),
            signatures=tuple(f for f in found if isinstance(f, SignatureFact)),
            unverified=tuple(f for f in found if isinstance(f, Unverified)),
            errors=tuple(errors),
        )

    def referrers(self, ref: ImageRef, digest: str, deadline: Deadline) -> tuple[Descriptor, ...]:
        """The manifests that name ``digest`` as their subject: the referrers API, or the
        tag schema where the registry has no such API."""
        listed = self._referrers_api(ref, digest, deadline)
        if listed is not None:
            return listed
        index_digest = self._tag_digest(ref, fallback_tag(digest), deadline)
        if index_digest is None:
            return ()
        index = self.client.manifest(ref, index_digest, deadline)
        return index.manifests if index.is_index else ()

    def _manifests(
        self, ref: ImageRef, digest: str, deadline: Deadline, budget: ReadBudget
    ) -> Iterator[tuple[str, Manifest]]:
        """The manifests attached to ``digest``; a referrer's declared size is charged to
        ``budget`` before it is read (cosign's two tags declare none), and what it holds
        beyond that once it is read."""
        seen: set[str] = set()
        wanted = [
            (f"OCI referrer {d.digest}", d.digest, d.size)
            for d in self.referrers(ref, digest, deadline)
            if judged(d)
        ]
        for suffix in (".sig", ".att"):
            tag = fallback_tag(digest) + suffix
            tagged = self._tag_digest(ref, tag, deadline)
            if tagged is not None:
                wanted.append((f"cosign tag {tag}", tagged, 0))
        for where, manifest_digest, size in wanted[:MAX_REFERRERS]:
            if manifest_digest in seen:
                continue
            seen.add(manifest_digest)
            budget.charge(ref, size, where)
            manifest = self.client.manifest(ref, manifest_digest, deadline)
            budget.charge(ref, max(0, manifest.size - size), where)  # what it did not declare
            if not manifest.is_index:
                yield where, manifest

    def _referrers_api(
        self, ref: ImageRef, digest: str, deadline: Deadline
    ) -> tuple[Descriptor, ...] | None:
        """The referrers API's answer, its pages followed; ``None`` when the registry does
        not serve it. A registry pages a long answer with ``Link: <...>; rel="next"``
        (OCI distribution spec 1.1); gate reads at most :data:`MAX_REFERRERS` descriptors
        over at most :data:`MAX_REFERRER_PAGES` pages, and only from the same registry."""
        self.client.check_allowed(ref)
        path: str | None = f"/v2/{ref.repository}/referrers/{digest}"
        listed: list[Descriptor] = []
        for page in range(MAX_REFERRER_PAGES):
            if path is None or len(listed) >= MAX_REFERRERS:
                break
            what = f"referrers of {digest}" + (f" (page {page + 1})" if page else "")
            answer = self._referrers_page(ref, path, deadline, what)
            if answer is None:
                return None if page == 0 else tuple(listed)
            manifests, path = answer
            listed += manifests
        return tuple(listed[:MAX_REFERRERS])

    def _referrers_page(
        self, ref: ImageRef, path: str, deadline: Deadline, what: str
    ) -> tuple[tuple[Descriptor, ...], str | None] | None:
        """One page of the referrers API: its descriptors and the next page's path."""
        with self.client.session.request(ref, "GET", path, deadline, what) as response:
            if response.status_code in _UNSUPPORTED:
                response.close()
                return None
            if response.status_code != 200:
                raise self.client.session.status_error(ref, response, what)
            data = read_limited(
                response, self.client.options.max_manifest_bytes, ref.registry, ref.repository, what
            )
            content_type = response.headers.get("Content-Type", "")
            following = next_page(ref, response.url, response.links.get("next", {}).get("url"))
        index = parse_manifest(
            data, content_type, compute_digest(data), ref.registry, ref.repository
        )
        if not index.is_index:
            raise RegistryError.for_ref(ref, f"{what}: the registry answered with a non-index")
        return index.manifests, following

    def _tag_digest(self, ref: ImageRef, tag: str, deadline: Deadline) -> str | None:
        try:
            return self.client.resolve(replace(ref, tag=tag, digest=None), deadline)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
