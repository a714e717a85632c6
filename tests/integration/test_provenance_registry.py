"""Provenance and signatures attached in a real registry, found and verified by gate.

Debian's docker-registry (Distribution 2.8: no referrers API) on 127.0.0.1, and the same
registry behind :class:`ReferrersFront`, which adds the OCI 1.1 referrers API. Signatures
and attestations are made with keys generated here and pushed as cosign's ``.sig`` /
``.att`` tags and as OCI referrers (tag schema fallback, or the API). What reached the
registry is counted from its access log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.config import Settings
from gate.evaluate import evaluate_image
from gate.facts.provenance.bundle import bundle_json
from gate.facts.provenance.dsse import parse_envelope
from gate.facts.provenance.interface import Evidence
from gate.facts.provenance.judge import Judge
from gate.facts.provenance.keys import TrustedKey
from gate.facts.provenance.registry import RegistryEvidence, fallback_tag
from gate.facts.provenance.settings import TrustSettings
from gate.facts.registry import ClientOptions, RegistryClient, RegistryError, TransportOptions
from gate.facts.scans.interface import ScanResult, ScanSource
from gate.facts.sources import build_fact_source
from gate.policy.engines import create_engine
from gate.reference import ImageRef, parse_reference
from tests.integration.oci_attach import (
    BUNDLE,
    DSSE,
    SIMPLE_SIGNING,
    Layer,
    attach_cosign,
    attach_referrer,
)
from tests.integration.oci_push import Pushed, Pusher, image_config, push_image
from tests.integration.referrers_front import ReferrersFront
from tests.integration.registry_server import RegistryServer
from tests.integration.test_registry_client import binary, started  # noqa: F401 - fixtures
from tests.supply_chain import (
    COMMIT,
    GCB_BUILDER,
    Signer,
    cosign_signature,
    dsse_envelope,
    slsa_v1_statement,
    tampered,
)

pytestmark = pytest.mark.integration
SIGNATURE = "dev.cosignproject.cosign/signature"
LABELS = {"org.opencontainers.image.source": "https://github.com/example/app",
          "org.opencontainers.image.revision": COMMIT}  # fmt: skip


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:  # noqa: F811
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def front(registry: RegistryServer) -> Iterator[ReferrersFront]:
    server = ReferrersFront(registry.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.ec()


def client(host: str) -> RegistryClient:
    return RegistryClient(
        ClientOptions(approved=(f"{host}/**",), transport=TransportOptions(insecure_hosts=(host,)))
    )


def evidence(
    host: str, ref: ImageRef, signer: Signer, registry: RegistryClient | None = None
) -> Evidence:
    judge = Judge((TrustedKey.from_pem(signer.pem),), None)
    return RegistryEvidence(registry or client(host), judge).evidence(ref, time.monotonic() + 20)


def push(host_url: str, repo: str, user: str = "65532") -> Pushed:
    return push_image(Pusher(host_url), repo, image_config(user=user, labels=LABELS))


def pinned(host: str, repo: str, image: Pushed) -> ImageRef:
    return parse_reference(f"{host}/{repo}@{image.digest}")


def provenance_layer(host: str, repo: str, digest: str, signer: Signer, **kw: Any) -> Layer:
    envelope = dsse_envelope(slsa_v1_statement(f"{host}/{repo}", digest, **kw), signer)
    return Layer(envelope, DSSE, {"predicateType": "https://slsa.dev/provenance/v1"})


def signature_layer(host: str, repo: str, digest: str, signer: Signer) -> Layer:
    payload, signature = cosign_signature(f"{host}/{repo}", digest, signer)
    return Layer(payload, SIMPLE_SIGNING, {SIGNATURE: signature})


def test_cosign_tags_signature_and_attestation(registry: RegistryServer, signer: Signer) -> None:
    repo, host = "team/signed", registry.host
    image = push(registry.url, repo)
    pusher = Pusher(registry.url)
    foreign = Signer.ec()
    attach_cosign(pusher, repo, image.digest, ".sig", [
        signature_layer(host, repo, image.digest, signer),
        signature_layer(host, repo, image.digest, foreign),
    ])  # fmt: skip
    attach_cosign(
        pusher, repo, image.digest, ".att", [provenance_layer(host, repo, image.digest, signer)]
    )

    found = evidence(host, pinned(host, repo, image), signer)

    assert not found.errors
    assert [s.to_input() for s in found.signatures] == [{
        "kind": "cosign", "digest": image.digest, "origin": "registry",
        "verified_by": {"key": signer.key_id, "identity": None},
    }]  # fmt: skip
    (statement,) = found.provenance
    assert (statement.builder_id, statement.source_repository, statement.source_revision) == (
        GCB_BUILDER, "github.com/example/app", COMMIT,
    )  # fmt: skip
    (unknown,) = found.unverified
    assert unknown.kind == "signature" and "no trusted key verifies it" in unknown.reason
    assert f"cosign tag {fallback_tag(image.digest)}.sig" in unknown.reason


def test_a_large_sbom_attestation_is_not_read_and_denies_nothing(
    registry: RegistryServer, signer: Signer
) -> None:
    """`cosign attest --type spdxjson` of a big image: a 5 MB DSSE layer annotated as an
    SPDX document beside the provenance. gate judges provenance and signatures only, so it
    does not fetch the SBOM; an unannotated layer past the 4 MiB a blob may have is
    reported unverified, not an error that would deny the image."""
    repo, host = "team/with-sbom", registry.host
    image = push(registry.url, repo)
    sbom = Layer(b"x" * 5_000_000, DSSE, {"predicateType": "https://spdx.dev/Document"})
    unannotated = Layer(b"y" * 5_000_000, DSSE, {})
    provenance = provenance_layer(host, repo, image.digest, signer)
    attach_cosign(Pusher(registry.url), repo, image.digest, ".att", [sbom, unannotated, provenance])
    registry.settle()
    before = len(registry.requests())

    found = evidence(host, pinned(host, repo, image), signer)

    assert not found.errors
    assert [p.builder_id for p in found.provenance] == [GCB_BUILDER]
    (skipped,) = found.unverified
    assert "5000000 bytes, more than gate reads for one piece of evidence" in skipped.reason
    registry.settle()
    blobs = [r for r in registry.requests()[before:] if r[0] == "GET" and "/blobs/" in r[1]]
    assert len(blobs) == 1  # the provenance only


def test_a_referrer_declaring_an_sbom_is_not_fetched(
    registry: RegistryServer, signer: Signer
) -> None:
    """A Sigstore bundle referrer whose descriptor declares an SPDX predicate (as cosign and
    GitHub's attest action annotate it): neither its manifest nor its layer is read."""
    repo, host = "team/bundled-sbom", registry.host
    image = push(registry.url, repo)
    pusher = Pusher(registry.url)
    sbom = attach_referrer(pusher, repo, image, BUNDLE, [Layer(b"z" * 5_000_000, BUNDLE)],
                           {"dev.sigstore.bundle.predicateType": "https://spdx.dev/Document"})  # fmt: skip
    attach_referrer(pusher, repo, image, "application/vnd.in-toto+json",
                    [provenance_layer(host, repo, image.digest, signer)])  # fmt: skip
    registry.settle()
    before = len(registry.requests())

    found = evidence(host, pinned(host, repo, image), signer)

    assert not found.errors and not found.unverified
    assert [p.builder_id for p in found.provenance] == [GCB_BUILDER]
    registry.settle()
    assert not [r for r in registry.requests()[before:] if sbom.digest in r[1]]


def test_an_image_carrying_too_much_evidence_is_read_up_to_its_budget(
    registry: RegistryServer, signer: Signer
) -> None:
    """Ten 4 MB envelopes attached to one image (each under the blob limit, 40 MB in all):
    gate reads 32 MiB of them, then stops with an error that names the budget, which
    denies the image; before, every review of it read them all."""
    repo, host = "team/heavy-evidence", registry.host
    image = push(registry.url, repo)
    junk = [Layer(b"x" * 4_000_000 + str(i).encode(), DSSE, {}) for i in range(10)]
    attach_cosign(Pusher(registry.url), repo, image.digest, ".att", junk)

    found = evidence(host, pinned(host, repo, image), signer)

    (error,) = found.errors
    assert "signatures and attestations are more than gate reads for one image" in error.message
    assert "remove the extra ones attached to it" in error.hint
    registry.settle()
    reads = [r for r in registry.requests() if r[0] == "GET" and f"{repo}/blobs" in r[1]]
    assert len(reads) == 8


def test_large_referrer_manifests_count_against_the_same_budget(
    registry: RegistryServer, signer: Signer
) -> None:
    """Twelve referrers of 3 MB manifests (an SBOM layer each, never read): their declared
    sizes are charged before they are read, so the twelfth (past 32 MiB) is not read."""
    repo, host = "team/heavy-referrers", registry.host
    image = push(registry.url, repo)
    pusher = Pusher(registry.url)
    referrers = set()
    for i in range(12):
        padded = Layer(b"{}", "application/spdx+json", {"pad": "x" * 3_000_000 + str(i)})
        referrers.add(
            attach_referrer(pusher, repo, image, "application/spdx+json", [padded]).digest
        )
    registry.settle()
    before = len(registry.requests())

    found = evidence(host, pinned(host, repo, image), signer)

    (error,) = found.errors
    assert "signatures and attestations are more than gate reads for one image" in error.message
    registry.settle()
    read = {r[1].rsplit("/", 1)[1] for r in registry.requests()[before:] if r[0] == "GET"}
    assert len(read & referrers) == 11


def test_referrers_through_the_tag_schema_on_distribution(
    registry: RegistryServer, signer: Signer
) -> None:
    """Distribution 2.8 has no referrers API: 404, then the ``sha256-HEX`` index."""
    repo, host = "team/referred", registry.host
    image = push(registry.url, repo)
    pusher = Pusher(registry.url)
    attach_referrer(pusher, repo, image, "application/vnd.in-toto+json",
                    [provenance_layer(host, repo, image.digest, signer)])  # fmt: skip
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                            "subject": [{"name": f"{host}/{repo}", "digest": {"sha256": image.digest[7:]}}],
                            "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})  # fmt: skip
    bundle = bundle_json(parse_envelope(dsse_envelope(statement.encode(), signer)), "release")
    attach_referrer(pusher, repo, image, BUNDLE, [Layer(bundle, BUNDLE)])

    found = evidence(host, pinned(host, repo, image), signer)

    assert not found.errors and not found.unverified
    assert [p.builder_id for p in found.provenance] == [GCB_BUILDER]
    assert [s.kind for s in found.signatures] == ["sigstore-bundle"]
    registry.settle()
    assert registry.count("GET", f"/v2/{repo}/referrers/{image.digest}", 404) == 1
    assert registry.count("HEAD", f"/v2/{repo}/manifests/{fallback_tag(image.digest)}") == 1


def test_referrers_api_where_the_registry_has_it(
    registry: RegistryServer, front: ReferrersFront, signer: Signer
) -> None:
    repo, host = "team/api", front.host
    image = push(f"http://{host}", repo)
    attach_referrer(Pusher(f"http://{host}"), repo, image, "application/vnd.in-toto+json",
                    [provenance_layer(host, repo, image.digest, signer)])  # fmt: skip

    found = evidence(host, pinned(host, repo, image), signer)

    assert [p.builder_id for p in found.provenance] == [GCB_BUILDER] and not found.errors
    assert front.calls["referrers"] == 1
    # The push was acknowledged with OCI-Subject: no fallback index was kept, none was read.
    assert front.calls[f"HEAD /v2/{repo}/manifests/{fallback_tag(image.digest)}"] == 0
    registry.settle()
    assert registry.count("GET", f"/v2/{repo}/manifests/{fallback_tag(image.digest)}", None) == 0


def test_a_paged_referrers_answer_is_followed_within_the_registry(
    front: ReferrersFront, signer: Signer
) -> None:
    repo, host = "team/paged", front.host
    image = push(f"http://{host}", repo)
    for n in range(2):  # artifacts gate leaves alone, listed before the provenance
        attach_referrer(Pusher(f"http://{host}"), repo, image, "application/spdx+json",
                        [Layer(json.dumps({"n": n}).encode(), "application/spdx+json")])  # fmt: skip
    attach_referrer(Pusher(f"http://{host}"), repo, image, "application/vnd.in-toto+json",
                    [provenance_layer(host, repo, image.digest, signer)])  # fmt: skip
    front.page_size, before = 1, front.calls["referrers"]
    try:
        found = evidence(host, pinned(host, repo, image), signer)
        assert [p.builder_id for p in found.provenance] == [GCB_BUILDER] and not found.errors
        assert front.calls["referrers"] - before == 3  # one request per page

        front.next_host = "127.0.0.1:9"  # a registry that points gate elsewhere
        found = evidence(host, pinned(host, repo, image), signer)
    finally:
        front.page_size, front.next_host = 0, ""
    assert not found.provenance
    assert ["another host (127.0.0.1:9)" in str(e) for e in found.errors] == [True]


def test_tampered_foreign_and_misaddressed_evidence(
    registry: RegistryServer, signer: Signer
) -> None:
    repo, host = "team/tampered", registry.host
    image = push(registry.url, repo)
    other = push(registry.url, repo, user="1000")
    pusher = Pusher(registry.url)
    genuine = dsse_envelope(slsa_v1_statement(f"{host}/{repo}", image.digest), signer)
    attach_cosign(pusher, repo, image.digest, ".att", [
        Layer(tampered(genuine), DSSE),
        provenance_layer(host, repo, image.digest, Signer.ec()),
    ])  # fmt: skip
    # A genuine signed statement about another image, attached to this one.
    attach_referrer(pusher, repo, image, "application/vnd.in-toto+json",
                    [provenance_layer(host, repo, other.digest, signer)])  # fmt: skip
    # cosign's signature of the other image, copied under this one's tag.
    attach_cosign(
        pusher, repo, image.digest, ".sig", [signature_layer(host, repo, other.digest, signer)]
    )

    found = evidence(host, pinned(host, repo, image), signer)

    assert not found.signatures
    reasons = sorted(u.reason for u in found.unverified)
    assert len(reasons) == 3, reasons
    assert sum("no trusted key verifies" in r for r in reasons) == 2
    assert any(f"for {other.digest}, not this image" in r for r in reasons)
    (foreign_subject,) = found.provenance
    assert {s.digest for s in foreign_subject.subjects} == {other.digest}


def test_content_is_read_by_digest_and_cached(registry: RegistryServer, signer: Signer) -> None:
    repo, host = "team/cached", registry.host
    image = push(registry.url, repo)
    layer = signature_layer(host, repo, image.digest, signer)
    attach_cosign(Pusher(registry.url), repo, image.digest, ".sig", [layer])
    shared = client(host)
    ref = pinned(host, repo, image)
    first, second = evidence(host, ref, signer, shared), evidence(host, ref, signer, shared)
    assert first == second and len(first.signatures) == 1
    registry.settle()
    from tests.integration.oci_push import digest_of

    assert registry.count("GET", f"/v2/{repo}/blobs/{digest_of(layer.data)}") == 1


def test_an_unapproved_registry_is_never_contacted(
    registry: RegistryServer, signer: Signer
) -> None:
    ref = parse_reference(f"{registry.host}/team/other@sha256:" + "a" * 64)
    judge = Judge((TrustedKey.from_pem(signer.pem),), None)
    strict = RegistryClient(ClientOptions(approved=("us-docker.pkg.dev/**",),
                                          transport=TransportOptions(insecure_hosts=(registry.host,))))  # fmt: skip
    registry.settle()
    before = len(registry.requests())
    found = RegistryEvidence(strict, judge).evidence(ref, time.monotonic() + 5)
    (error,) = found.errors
    assert isinstance(error, RegistryError) and "not an approved registry" in error.message
    registry.settle()
    assert len(registry.requests()) == before


# -- through gate's fact gathering and policies ------------------------------------------


def _data(tmp_path: Path, host: str, signer: Signer) -> Path:
    params = {
        "registries": {"approved": [f"{host}/**"]},
        "provenance": {"enabled": True, "trusted_builders": [{"id": GCB_BUILDER, "keys": [signer.key_id]}]},
        "provenance_source": {"enabled": True, "repositories": ["github.com/example/**"]},
        "provenance_subject": {"enabled": True},
        "signatures": {"enabled": True, "keys": [signer.key_id]},
    }  # fmt: skip
    path = tmp_path / "supply-chain.json"
    path.write_text(json.dumps({"gate": {"params": params}}))
    return path


def supply_chain_ids(decision: Any) -> set[str]:
    return {v.policy_id for v in decision.violations} & {f"GATE-IMG-00{n}" for n in (6, 7, 8, 9)}


def test_fetched_facts_feed_the_policies(
    registry: RegistryServer, signer: Signer, tmp_path: Path
) -> None:
    repo, host = "team/judged", registry.host
    pusher = Pusher(registry.url)
    good, bad = push(registry.url, repo), push(registry.url, repo, user="1000")
    attach_cosign(
        pusher, repo, good.digest, ".sig", [signature_layer(host, repo, good.digest, signer)]
    )
    attach_cosign(
        pusher, repo, good.digest, ".att", [provenance_layer(host, repo, good.digest, signer)]
    )
    foreign = Signer.ec()
    attach_cosign(
        pusher, repo, bad.digest, ".sig", [signature_layer(host, repo, bad.digest, foreign)]
    )
    attach_cosign(pusher, repo, bad.digest, ".att", [provenance_layer(host, repo, good.digest, signer,
                  repository="git+https://github.com/evil/app")])  # fmt: skip

    data = _data(tmp_path, host, signer)
    settings = Settings(
        scan_source="none", insecure_registries=(host,), data_overrides=(data,),
        trust=TrustSettings(trusted_keys=(str(signer.write_pem(tmp_path)),), provenance_sources=("registry",)),
    )  # fmt: skip
    engine = create_engine(settings)
    source = build_fact_source(settings, engine)

    allowed = evaluate_image(
        engine, f"{host}/{repo}@{good.digest}", source, entry_point="attest"
    ).decision
    denied = evaluate_image(
        engine, f"{host}/{repo}@{bad.digest}", source, entry_point="attest"
    ).decision

    assert not allowed.errors and supply_chain_ids(allowed) == set()
    assert supply_chain_ids(denied) == {
        "GATE-IMG-006",
        "GATE-IMG-007",
        "GATE-IMG-008",
        "GATE-IMG-009",
    }
    messages = {v.policy_id: v.message for v in denied.violations}
    assert "found but not counted: cosign tag" in messages["GATE-IMG-009"]
    assert f"about {good.digest}" in messages["GATE-IMG-008"]


class SlowScan(ScanSource):
    """A scan source that answers after ``seconds``, as Artifact Analysis does when gate
    waits for a scan that finishes minutes after the push (``--scan-wait``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def scan(self, image: str) -> ScanResult:
        time.sleep(self.seconds)
        return ScanResult("artifact-analysis", (), digests=(image.partition("@")[2],))


def test_a_scan_that_outlasts_the_fetch_deadline_leaves_the_evidence_whole(
    registry: RegistryServer, signer: Signer, tmp_path: Path
) -> None:
    """Provenance and signatures are read within the fetch deadline, before the scan wait
    (which has its own limit): a slow scan must not turn them into deadline errors."""
    repo, host = "team/slow-scan", registry.host
    pusher = Pusher(registry.url)
    image = push(registry.url, repo)
    attach_cosign(
        pusher, repo, image.digest, ".sig", [signature_layer(host, repo, image.digest, signer)]
    )
    attach_cosign(pusher, repo, image.digest, ".att", [provenance_layer(host, repo, image.digest, signer)])  # fmt: skip
    settings = Settings(
        scan_source="none", insecure_registries=(host,), data_overrides=(_data(tmp_path, host, signer),),
        trust=TrustSettings(trusted_keys=(str(signer.write_pem(tmp_path)),), provenance_sources=("registry",)),
    )  # fmt: skip
    engine = create_engine(settings)
    source = replace(build_fact_source(settings, engine), scanner=SlowScan(2.0))

    decision = evaluate_image(
        engine, f"{host}/{repo}@{image.digest}", source, entry_point="attest",
        deadline=time.monotonic() + 1.0,
    ).decision  # fmt: skip
    assert not decision.errors, decision.errors
    assert supply_chain_ids(decision) == set()  # the provenance and signature counted


def test_gate_eval_without_trust_fetches_no_evidence(
    registry: RegistryServer,
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, host = "team/untrusted", registry.host
    image = push(registry.url, repo)
    data = _data(tmp_path, host, signer)
    for name, value in {"GATE_INSECURE_REGISTRIES": host, "GATE_SCAN_SOURCE": "none"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATE_TRUSTED_KEYS", raising=False)
    code = main(["eval", f"{host}/{repo}@{image.digest}", "--data", str(data), "--output", "json"])
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert code == 1 and not result["errors"]
    ids = {v["policy_id"] for v in result["violations"]}
    assert {"GATE-IMG-006", "GATE-IMG-009"} <= ids  # on in data, nothing verified
    registry.settle()
    assert (
        registry.count("HEAD", f"/v2/{repo}/manifests/{fallback_tag(image.digest)}.sig", None) == 0
    )

    monkeypatch.setenv("GATE_TRUSTED_KEYS", str(signer.write_pem(tmp_path)))
    monkeypatch.setenv("GATE_PROVENANCE_SOURCES", "registry")
    attach_cosign(
        Pusher(registry.url),
        repo,
        image.digest,
        ".sig",
        [signature_layer(host, repo, image.digest, signer)],
    )
    code = main(["eval", f"{host}/{repo}@{image.digest}", "--data", str(data), "--output", "json"])
    result = json.loads(capsys.readouterr().out)["results"][0]
    ids = {v["policy_id"] for v in result["violations"]}
    assert "GATE-IMG-009" not in ids and "GATE-IMG-006" in ids


def test_gate_verify_checks_cosign_signatures(
    registry: RegistryServer, signer: Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    repo, host = "team/verified", registry.host
    signed, unsigned = push(registry.url, repo), push(registry.url, repo, user="1000")
    attach_cosign(Pusher(registry.url), repo, signed.digest, ".sig",
                  [signature_layer(host, repo, signed.digest, signer)])  # fmt: skip
    attach_cosign(Pusher(registry.url), repo, unsigned.digest, ".sig",
                  [signature_layer(host, repo, unsigned.digest, Signer.ec())])  # fmt: skip
    approved = tmp_path / "approved.json"
    approved.write_text(
        json.dumps({"gate": {"params": {"registries": {"approved": [f"{host}/**"]}}}})
    )
    key = str(signer.write_pem(tmp_path))
    monkeypatch.delenv("GATE_ATTESTOR", raising=False)
    common = ["--trusted-key", key, "--insecure-registry", host, "--data", str(approved)]

    code = main(["verify", f"{host}/{repo}@{signed.digest}", *common, "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["verified"] is True
    assert document["signatures"]["signatures"][0]["verified_by"]["key"] == signer.key_id

    code = main(["verify", f"{host}/{repo}@{unsigned.digest}", *common])
    out = capsys.readouterr().out
    assert code == 1
    assert "no valid signature (0 valid, 1 not)" in out and "no trusted key verifies it" in out

    foreign = Signer.ec().write_pem(tmp_path, "other.pub")
    code = main(["verify", f"{host}/{repo}:{'latest'}", "--trusted-key", str(foreign),
                 "--insecure-registry", host, "--data", str(approved), "--output", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and document["errors"][0]["kind"] == "registry"  # no such tag: an error


def test_keyless_bundle_referrer_and_the_identity_policy(
    registry: RegistryServer, tmp_path: Path
) -> None:
    from tests.sigstore_stack import SigstoreStack

    repo, host = "team/keyless", registry.host
    image = push(registry.url, repo)
    stack = SigstoreStack()
    issuer = "https://token.actions.githubusercontent.com"
    workflow = "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                            "subject": [{"name": f"{host}/{repo}", "digest": {"sha256": image.digest[7:]}}],
                            "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})  # fmt: skip
    bundle = stack.sign_dsse(statement.encode(), issuer=issuer, subject=workflow)
    attach_referrer(Pusher(registry.url), repo, image, BUNDLE, [Layer(bundle, BUNDLE)])
    params = {"registries": {"approved": [f"{host}/**"]}, "signatures": {"enabled": True, "identities": [
        {"issuer": issuer, "subject_pattern": "https://github.com/example/*/.github/workflows/**"}]}}  # fmt: skip
    data = tmp_path / "keyless.json"
    data.write_text(json.dumps({"gate": {"params": params}}))
    trust = TrustSettings(
        sigstore_trusted_root=str(stack.trusted_root(tmp_path)), provenance_sources=("registry",)
    )
    settings = Settings(
        scan_source="none", insecure_registries=(host,), data_overrides=(data,), trust=trust
    )
    engine = create_engine(settings)
    source = build_fact_source(settings, engine)

    decision = evaluate_image(
        engine, f"{host}/{repo}@{image.digest}", source, entry_point="attest"
    ).decision
    assert not decision.errors and "GATE-IMG-009" not in supply_chain_ids(decision)

    other = data.read_text().replace("github.com/example/*", "github.com/acme/*")
    data.write_text(other)
    settings = Settings(
        scan_source="none", insecure_registries=(host,), data_overrides=(data,), trust=trust
    )
    decision = evaluate_image(
        create_engine(settings), f"{host}/{repo}@{image.digest}", source, entry_point="attest"
    ).decision
    [violation] = [v for v in decision.violations if v.policy_id == "GATE-IMG-009"]
    assert f"is signed only by identity {workflow} (issuer {issuer})" in violation.message
