"""Cloud Build's signed provenance from Artifact Analysis, verified with a Cloud KMS key.

The gRPC test server on 127.0.0.1 serves Grafeas (BUILD occurrences in the shape Cloud
Build writes: a DSSE envelope signed over the PAE by a key version in
``projects/verified-builder``) and Cloud KMS (GetPublicKey for that key version); gate
reaches both through the real Google client libraries, with the trust given as
``gcpkms://…`` in its settings.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import grpc
import pytest

from gate.attest.settings import AttestSettings
from gate.config import Settings
from gate.facts.provenance.dsse import pae
from gate.facts.provenance.interface import Evidence, EvidenceSource
from gate.facts.provenance.settings import TrustSettings
from gate.facts.provenance.source import build_evidence_source
from gate.reference import parse_reference
from tests.integration.attest_env import GoogleApis, google_apis
from tests.integration.grafeas_server import build_occurrence
from tests.integration.kms_server import KmsKey
from tests.supply_chain import GCB_BUILDER, INTOTO, slsa_v01_statement, slsa_v1_statement

pytestmark = pytest.mark.integration

PROJECT = "acme"
IMAGE = f"us-docker.pkg.dev/{PROJECT}/apps/web"
DIGEST = "sha256:" + "7e" * 32
GCB_KEY = "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/google-hosted-worker/cryptoKeyVersions/1"
OTHER_KEY = "projects/verified-builder/locations/us-west2/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1"


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        running.kms.add_key(GCB_KEY, "EC_SIGN_P256_SHA256")
        running.kms.add_key(OTHER_KEY, "EC_SIGN_P256_SHA256", variant=1)
        yield running


def kms_sign(key: KmsKey, payload: bytes) -> bytes:
    """What Cloud Build's signer does: KMS AsymmetricSign over SHA-256 of the PAE."""
    return key.sign_digest(hashlib.sha256(pae(INTOTO, payload)).digest())


def source(apis: GoogleApis, *keys: str) -> EvidenceSource:
    address = apis.endpoint.api_endpoint
    settings = Settings(
        artifact_analysis_endpoint=address,
        google_plaintext=True,
        google_anonymous=True,
        attest=AttestSettings(kms_endpoint=address, google_timeout=5),
        trust=TrustSettings(trusted_keys=keys or ("gcpkms://" + GCB_KEY,), provenance_sources=("artifact-analysis",)),
    )  # fmt: skip
    built = build_evidence_source(settings, registry=None)
    assert built is not None
    return built


def look(found: EvidenceSource, digest: str = DIGEST) -> Evidence:
    return found.evidence(parse_reference(f"{IMAGE}@{digest}"), time.monotonic() + 20)


def put(
    apis: GoogleApis, payload: bytes, signatures: list[tuple[bytes, str]], **kw: object
) -> None:
    apis.grafeas.put(
        PROJECT, build_occurrence(f"https://{IMAGE}@{DIGEST}", payload, signatures, **kw)
    )  # type: ignore[arg-type]


def test_cloud_build_provenance_verified_with_the_kms_key(apis: GoogleApis) -> None:
    key = apis.kms.keys[GCB_KEY]
    v1 = slsa_v1_statement(IMAGE, DIGEST)
    v01 = slsa_v01_statement(IMAGE, DIGEST)
    put(apis, v1, [(kms_sign(key, v1), GCB_KEY)])
    put(
        apis,
        v01,
        [(kms_sign(apis.kms.keys[OTHER_KEY], v01), OTHER_KEY), (kms_sign(key, v01), GCB_KEY)],
        slsa_v1=False,
    )
    found = source(apis)

    first, second = look(found), look(found)

    assert first == second and not first.errors and not first.unverified
    assert sorted(p.builder_id for p in first.provenance) == [GCB_BUILDER, GCB_BUILDER + "@v0.3"]
    assert {p.verified_by.key for p in first.provenance} == {"gcpkms://" + GCB_KEY}
    assert {p.origin for p in first.provenance} == {"artifact-analysis"}
    assert len(apis.kms.called("GetPublicKey")) == 1  # the trust is read once
    (request,) = {c.request.filter for c in apis.grafeas.called("ListOccurrences")}
    assert request == f'kind="BUILD" AND resourceUrl="https://{IMAGE}@{DIGEST}"'


def test_the_signed_payload_decides_not_the_parsed_copy(apis: GoogleApis) -> None:
    key = apis.kms.keys[GCB_KEY]
    statement = slsa_v1_statement(IMAGE, DIGEST, builder="https://ci.example/untrusted")
    put(apis, statement, [(kms_sign(key, statement), GCB_KEY)], builder_id=GCB_BUILDER)
    (found,) = look(source(apis)).provenance
    assert found.builder_id == "https://ci.example/untrusted"


def test_tampered_unsigned_and_foreign_occurrences_do_not_count(apis: GoogleApis) -> None:
    key = apis.kms.keys[GCB_KEY]
    genuine = slsa_v1_statement(IMAGE, DIGEST)
    altered = genuine.replace(b"github.com/example/app", b"github.com/evil/app")
    put(apis, altered, [(kms_sign(key, genuine), GCB_KEY)])
    put(apis, genuine, [])
    put(apis, genuine, [(kms_sign(apis.kms.keys[OTHER_KEY], genuine), OTHER_KEY)])

    found = look(source(apis))

    assert not found.provenance and not found.errors
    reasons = sorted(u.reason for u in found.unverified)
    assert len(reasons) == 3
    assert sum("no trusted key verifies" in r for r in reasons) == 2
    assert any(f"keyid {OTHER_KEY}" in r for r in reasons)
    assert any("has no signed envelope" in r for r in reasons)


def test_an_unreachable_source_or_key_is_an_error(apis: GoogleApis) -> None:
    apis.grafeas.fail("ListOccurrences", grpc.StatusCode.PERMISSION_DENIED, "denied")
    (error,) = look(source(apis)).errors
    assert error.kind == "provenance" and "PERMISSION_DENIED" in error.message

    missing = "gcpkms://projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/gone/cryptoKeyVersions/1"
    found = source(apis, missing)
    (error,) = look(found).errors
    assert "cannot read the trusted key" in error.message and "NOT_FOUND" in error.message
    apis.kms.add_key(missing.removeprefix("gcpkms://"), "EC_SIGN_P256_SHA256")
    assert not look(found).errors  # the trust is loaded again on the next image


def test_images_outside_google_registries_have_no_build_occurrences(apis: GoogleApis) -> None:
    ref = parse_reference("ghcr.io/acme/web@" + DIGEST)
    assert source(apis).evidence(ref, time.monotonic() + 5) == Evidence()
    assert not apis.grafeas.called("ListOccurrences")
