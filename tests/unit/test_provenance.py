"""Verification of supply-chain evidence with real keys: DSSE, in-toto/SLSA, cosign, bundles.

Every artifact is made here with freshly generated keys (tests/supply_chain.py) in the
formats Cloud Build and cosign write; tampered envelopes, statements about another image
and signatures by foreign keys must never count.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gate.config import Settings
from gate.errors import ConfigError, InputError
from gate.facts.metadata import parse_metadata
from gate.facts.provenance.bundle import bundle_json, read_bundle
from gate.facts.provenance.dsse import parse_envelope, verify_envelope
from gate.facts.provenance.interface import Provenance, ProvenanceError, SignatureFact, Unverified
from gate.facts.provenance.judge import COSIGN_SIGN_PREDICATE, Judge
from gate.facts.provenance.keys import TrustedKey, load_trusted_keys
from gate.facts.provenance.settings import TrustSettings
from gate.facts.provenance.statement import normalize_repository, read_statement
from gate.policy.document import build_document, validate_document
from gate.reference import parse_reference
from tests.supply_chain import (
    COMMIT,
    GCB_BUILDER,
    Signer,
    cosign_signature,
    dsse_envelope,
    slsa_v01_statement,
    slsa_v1_statement,
    tampered,
)

IMAGE = "us-docker.pkg.dev/p/r/app"
DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.ec()


@pytest.fixture(scope="module")
def judge(signer: Signer) -> Judge:
    return Judge((TrustedKey.from_pem(signer.pem),), None)


def test_cloud_build_v1_statement_reads_builder_source_and_subjects() -> None:
    claims = read_statement(slsa_v1_statement(IMAGE, DIGEST))
    assert claims is not None
    assert claims.builder_id == GCB_BUILDER
    assert claims.build_type == "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1"
    assert (claims.source_repository, claims.source_revision, claims.source_ref) == (
        "github.com/example/app",
        COMMIT,
        "refs/heads/main",
    )
    assert {s.digest for s in claims.subjects} == {DIGEST}


def test_cloud_build_v01_statement() -> None:
    claims = read_statement(slsa_v01_statement(IMAGE, DIGEST))
    assert claims is not None
    assert claims.builder_id == GCB_BUILDER + "@v0.3"
    assert (claims.source_repository, claims.source_revision) == ("github.com/example/app", COMMIT)


def test_slsa_v02_statement_reads_the_config_source() -> None:
    doc = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "x", "digest": {"sha256": "1" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "builder": {
                "id": "https://github.com/slsa-framework/slsa-github-generator/x@refs/tags/v1"
            },
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
            "invocation": {
                "configSource": {
                    "uri": "git+https://github.com/example/app@refs/tags/v1.2.0",
                    "digest": {"sha1": COMMIT},
                    "entryPoint": ".github/workflows/release.yml",
                }
            },
        },
    }
    claims = read_statement(json.dumps(doc).encode())
    assert claims is not None
    assert (claims.source_repository, claims.source_revision, claims.source_ref) == (
        "github.com/example/app",
        COMMIT,
        "refs/tags/v1.2.0",
    )


def test_statement_without_a_commit_has_no_revision() -> None:
    claims = read_statement(slsa_v1_statement(IMAGE, DIGEST, commit=""))
    assert claims is not None and claims.source_revision == ""
    assert claims.source_repository == "github.com/example/app"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("git+https://github.com/org/app", ("github.com/org/app", "")),
        ("https://github.com/org/app.git", ("github.com/org/app", "")),
        (
            "git+ssh://git@github.com/org/app@refs/heads/main",
            ("github.com/org/app", "refs/heads/main"),
        ),
        ("github.com/org/app@" + COMMIT, ("github.com/org/app", COMMIT)),
        ("git@github.com:org/app", ("git@github.com:org/app", "")),
    ],
)
def test_repositories_are_normalised(uri: str, expected: tuple[str, str]) -> None:
    assert normalize_repository(uri) == expected


def test_other_predicates_are_not_provenance() -> None:
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [],
        "predicateType": "https://cyclonedx.org/bom",
        "predicate": {},
    }
    assert read_statement(json.dumps(doc).encode()) is None


def test_dsse_verifies_over_the_pae_with_the_trusted_key(signer: Signer, judge: Judge) -> None:
    envelope = dsse_envelope(slsa_v1_statement(IMAGE, DIGEST), signer, keyid="release")
    fact = judge.envelope(envelope, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Provenance)
    assert fact.verified_by.key == signer.key_id
    assert fact.to_input()["source"]["revision"] == COMMIT


def test_a_signature_over_the_bare_payload_is_refused(signer: Signer, judge: Judge) -> None:
    payload = slsa_v1_statement(IMAGE, DIGEST)
    doc = json.loads(dsse_envelope(payload, signer))
    doc["signatures"][0]["sig"] = base64.b64encode(signer.sign(payload)).decode()
    fact = judge.envelope(json.dumps(doc).encode(), origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified)


def test_tampered_envelope_is_refused(signer: Signer, judge: Judge) -> None:
    envelope = tampered(dsse_envelope(slsa_v1_statement(IMAGE, DIGEST), signer, keyid="k1"))
    fact = judge.envelope(envelope, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified)
    assert "no trusted key verifies" in fact.reason and "keyid k1" in fact.reason


def test_foreign_key_is_reported_as_unknown(judge: Judge) -> None:
    foreign = Signer.ec()
    envelope = dsse_envelope(slsa_v1_statement(IMAGE, DIGEST), foreign, keyid="theirs")
    fact = judge.envelope(envelope, origin="artifact-analysis", image_digest=DIGEST)
    assert isinstance(fact, Unverified)
    assert fact.kind == "provenance" and "unknown key" in fact.reason


def test_a_keyid_claiming_a_trusted_key_proves_nothing(signer: Signer, judge: Judge) -> None:
    foreign = Signer.ec()
    envelope = dsse_envelope(slsa_v1_statement(IMAGE, DIGEST), foreign, keyid=signer.key_id)
    assert isinstance(judge.envelope(envelope, origin="registry", image_digest=DIGEST), Unverified)


def test_provenance_about_another_image_is_kept_for_the_subject_policy(
    signer: Signer, judge: Judge
) -> None:
    envelope = dsse_envelope(slsa_v1_statement(IMAGE, OTHER), signer)
    fact = judge.envelope(envelope, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Provenance)
    assert [s.digest for s in fact.subjects] == [OTHER, OTHER]


def test_malformed_envelopes_and_statements(signer: Signer, judge: Judge) -> None:
    for raw in (
        b"not json",
        b'{"payloadType": "x"}',
        b'{"payloadType": "x", "payload": "!!", "signatures": []}',
    ):
        fact = judge.envelope(raw, origin="registry", image_digest=DIGEST)
        assert isinstance(fact, Unverified) and "malformed" in fact.reason
    not_intoto = dsse_envelope(b"{}", signer, payload_type="text/plain")
    fact = judge.envelope(not_intoto, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified) and "not in-toto" in fact.reason
    broken = dsse_envelope(b'{"_type": "https://in-toto.io/Statement/v1"}', signer)
    fact = judge.envelope(broken, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified) and "in-toto statement: malformed" in fact.reason


def test_cosign_signature_by_the_trusted_key(signer: Signer, judge: Judge) -> None:
    payload, signature = cosign_signature(IMAGE, DIGEST, signer)
    fact = judge.simple_signing(
        payload, signature, origin="registry", image_digest=DIGEST, keyless=False
    )
    assert fact == SignatureFact("cosign", DIGEST, "registry", fact.verified_by)  # type: ignore[union-attr]
    assert isinstance(fact, SignatureFact) and fact.verified_by.key == signer.key_id


def test_cosign_signature_of_another_image_is_refused(signer: Signer, judge: Judge) -> None:
    payload, signature = cosign_signature(IMAGE, OTHER, signer)
    fact = judge.simple_signing(
        payload, signature, origin="registry", image_digest=DIGEST, keyless=False
    )
    assert isinstance(fact, Unverified) and f"for {OTHER}, not this image" in fact.reason


def test_cosign_signature_by_a_foreign_key_or_altered_is_refused(
    signer: Signer, judge: Judge
) -> None:
    payload, signature = cosign_signature(IMAGE, DIGEST, Signer.ec())
    fact = judge.simple_signing(
        payload, signature, origin="registry", image_digest=DIGEST, keyless=False
    )
    assert isinstance(fact, Unverified) and "no trusted key verifies it" in fact.reason
    payload, signature = cosign_signature(IMAGE, DIGEST, signer)
    altered = payload.replace(b"us-docker", b"eu-docker")
    fact = judge.simple_signing(
        altered, signature, origin="registry", image_digest=DIGEST, keyless=False
    )
    assert isinstance(fact, Unverified)


def test_rsa_keys_verify_too() -> None:
    rsa_signer = Signer.rsa()
    judge = Judge((TrustedKey.from_pem(rsa_signer.pem),), None)
    payload, signature = cosign_signature(IMAGE, DIGEST, rsa_signer)
    fact = judge.simple_signing(
        payload, signature, origin="registry", image_digest=DIGEST, keyless=False
    )
    assert isinstance(fact, SignatureFact)


def test_keyed_bundle_with_a_cosign_v3_signing_statement(signer: Signer, judge: Judge) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": IMAGE, "digest": {"sha256": "1" * 64}}],
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": {},
    }
    envelope = parse_envelope(dsse_envelope(json.dumps(statement).encode(), signer))
    bundle = bundle_json(envelope, "release")
    fact = judge.bundle(bundle, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, SignatureFact) and fact.kind == "sigstore-bundle"
    other = judge.bundle(bundle, origin="registry", image_digest=OTHER)
    assert isinstance(other, Unverified) and "not " + OTHER in other.reason


def test_keyless_bundle_needs_a_trusted_root() -> None:
    raw = json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {}},
            "dsseEnvelope": {},
        }
    ).encode()
    found = read_bundle(raw, keys=(), verifier=None)
    assert isinstance(found, Unverified) and "GATE_SIGSTORE_TRUSTED_ROOT" in found.reason


def test_envelope_without_signatures_does_not_verify(signer: Signer) -> None:
    envelope = parse_envelope(b'{"payloadType": "t", "payload": "e30=", "signatures": []}')
    assert verify_envelope(envelope, (TrustedKey.from_pem(signer.pem),)).key is None


def test_trusted_keys_from_files(tmp_path: Path, signer: Signer) -> None:
    path = signer.write_pem(tmp_path)
    (key,) = load_trusted_keys([str(path)], kms=None)
    assert key.id == signer.key_id
    with pytest.raises(ProvenanceError, match="cannot read the trusted key"):
        load_trusted_keys([str(tmp_path / "missing.pub")], kms=None)
    (tmp_path / "bad.pub").write_text("not a key")
    with pytest.raises(ProvenanceError, match="not a PEM public key"):
        load_trusted_keys([str(tmp_path / "bad.pub")], kms=None)


def test_trust_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GATE_TRUSTED_KEYS": "/a.pub, gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            "GATE_SIGSTORE_TRUSTED_ROOT": "/root.json",
            "GATE_PROVENANCE_SOURCES": "registry",
        }
    )
    assert settings.trust.trusted_keys[1].startswith("gcpkms://")
    assert settings.trust.provenance_sources == ("registry",)
    with pytest.raises(ConfigError, match="unknown provenance source"):
        TrustSettings.from_env({"GATE_PROVENANCE_SOURCES": "rekor"})


def test_evidence_in_a_metadata_document_reaches_the_input(signer: Signer, judge: Judge) -> None:
    fact = judge.envelope(
        dsse_envelope(slsa_v1_statement(IMAGE, DIGEST), signer),
        origin="registry",
        image_digest=DIGEST,
    )
    assert isinstance(fact, Provenance)
    facts = parse_metadata(
        {
            "platforms": [],
            "provenance": [fact.to_input()],
            "unverified": [{"kind": "signature", "origin": "registry", "reason": "unknown key"}],
        }
    )
    doc = build_document(
        parse_reference(f"{IMAGE}@{DIGEST}").to_input(), entry_point="eval", facts=facts
    )
    validate_document(doc)
    assert doc["image"]["provenance"][0]["builder_id"] == GCB_BUILDER
    with pytest.raises(InputError, match="missing field"):
        parse_metadata({"platforms": [], "signatures": [{"kind": "cosign"}]})
