"""`gate attest` with the supply-chain policies on: Cloud Build's provenance in Artifact
Analysis decides whether the image is signed. The registry, Grafeas, Cloud KMS and Binary
Authorization are the test servers of tests/integration/test_attest_cli.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from grafeas.grafeas_v1 import DiscoveryOccurrence

from gate.facts.provenance.dsse import pae
from tests.integration.attest_env import PROJECT, GoogleApis
from tests.integration.grafeas_server import build_occurrence
from tests.integration.registry_server import RegistryServer
from tests.integration.test_attest_cli import apis, attest, data, gate, pushed, registry  # noqa: F401
from tests.integration.test_registry_client import binary  # noqa: F401 - fixtures
from tests.supply_chain import GCB_BUILDER, INTOTO, slsa_v1_statement

pytestmark = pytest.mark.integration
Status = DiscoveryOccurrence.AnalysisStatus
GCB_KEY = "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/google-hosted-worker/cryptoKeyVersions/1"


def with_provenance(servers: GoogleApis, image: str, builder: str) -> None:
    name, _, digest = image.partition("@")
    statement = slsa_v1_statement(name, digest, builder=builder)
    signature = servers.kms.keys[GCB_KEY].sign_digest(
        hashlib.sha256(pae(INTOTO, statement)).digest()
    )
    servers.grafeas.put(
        PROJECT, build_occurrence(f"https://{image}", statement, [(signature, GCB_KEY)])
    )


def test_attest_signs_only_images_built_by_the_trusted_builder(
    registry: RegistryServer,  # noqa: F811
    apis: GoogleApis,  # noqa: F811
    data: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    apis.kms.add_key(GCB_KEY, "EC_SIGN_P256_SHA256")
    doc = json.loads(data.read_text())
    doc["gate"]["params"]["provenance"] = {
        "enabled": True,
        "trusted_builders": [{"id": GCB_BUILDER, "keys": ["gcpkms://" + GCB_KEY]}],
    }
    data.write_text(json.dumps(doc))
    monkeypatch.setenv("GATE_TRUSTED_KEYS", "gcpkms://" + GCB_KEY)
    trusted = pushed(registry, apis, "trusted", "65532", Status.FINISHED_SUCCESS)
    untrusted = pushed(registry, apis, "untrusted", "65533", Status.FINISHED_SUCCESS)
    with_provenance(apis, trusted, GCB_BUILDER)
    with_provenance(apis, untrusted, "https://ci.example/self-hosted")

    code, report, _ = gate(capsys, *attest(apis, data, trusted, untrusted))

    statuses = {r["resolved"]: r["status"] for r in report["results"]}
    assert code == 1 and statuses == {trusted: "attested", untrusted: "denied"}
    [denied] = [r for r in report["results"] if r["resolved"] == untrusted]
    [violation] = denied["decision"]["violations"]
    assert violation["policy_id"] == "GATE-IMG-006"
    assert (
        "was built by https://ci.example/self-hosted (from artifact-analysis"
        in violation["message"]
    )
    assert [o.resource_uri for o in apis.stored()] == [f"https://{trusted}"]
