"""Admission with the signature and provenance policies on, the app built from its settings.

``create_app(settings)`` wires the facts itself (trust from ``TrustSettings``), against
Debian's docker-registry on 127.0.0.1: an image signed with cosign by the trusted key and
carrying signed SLSA provenance is admitted; the same image unsigned, or signed by a
key gate does not know, is rejected with a message that says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.config import Settings
from gate.facts.provenance.settings import TrustSettings
from gate.webhook.app import create_app
from tests.integration.oci_attach import DSSE, SIMPLE_SIGNING, Layer, attach_cosign
from tests.integration.oci_push import Pusher, canonical, image_config, push_image
from tests.integration.registry_server import RegistryServer
from tests.supply_chain import (
    GCB_BUILDER,
    Signer,
    cosign_signature,
    dsse_envelope,
    slsa_v1_statement,
)
from tests.webhook.conftest import _APPS, answer
from tests.webhook.reviews import review, workload
from tests.webhook.test_mutate_registry import LABELS, start

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def push(server: RegistryServer, repo: str) -> str:
    config = json.loads(image_config(user="65532", labels=LABELS))
    config["created"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return push_image(Pusher(server.url), repo, canonical(config)).digest


def sign(server: RegistryServer, repo: str, digest: str, signer: Signer) -> None:
    payload, signature = cosign_signature(f"{server.host}/{repo}", digest, signer)
    layer = Layer(payload, SIMPLE_SIGNING, {"dev.cosignproject.cosign/signature": signature})
    attach_cosign(Pusher(server.url), repo, digest, ".sig", [layer])
    envelope = dsse_envelope(slsa_v1_statement(f"{server.host}/{repo}", digest), signer)
    attach_cosign(Pusher(server.url), repo, digest, ".att", [Layer(envelope, DSSE)])


def admit(server: RegistryServer, tmp_path: Path, signer: Signer, image: str) -> dict[str, Any]:
    params = {
        "registries": {"approved": [f"{server.host}/**"]},
        "exemptions": [{"pattern": f"{server.host}/**", "policies": ["GATE-IMG-002"], "reason": "no scanner here"}],
        "provenance": {"enabled": True, "trusted_builders": [{"id": GCB_BUILDER}]},
        "signatures": {"enabled": True, "keys": [signer.key_id]},
    }  # fmt: skip
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"gate": {"params": params}}))
    settings = Settings(
        data_overrides=(data,), scan_source="none", insecure_registries=(server.host,),
        trust=TrustSettings(trusted_keys=(str(signer.write_pem(tmp_path)),), provenance_sources=("registry",)),
    )  # fmt: skip
    app = create_app(settings)
    _APPS.append(app)
    reply: dict[str, Any] = answer(app.test_client(), review(workload("Pod", image)))["response"]
    return reply


def test_signed_image_is_admitted_and_others_are_told_why(
    registry: RegistryServer, tmp_path: Path
) -> None:
    signer = Signer.ec()
    signed, unsigned, foreign = (
        push(registry, f"acme/{name}") for name in ("signed", "unsigned", "foreign")
    )
    sign(registry, "acme/signed", signed, signer)
    sign(registry, "acme/foreign", foreign, Signer.ec())

    admitted = admit(registry, tmp_path, signer, f"{registry.host}/acme/signed@{signed}")
    assert admitted["allowed"] is True, admitted

    rejected = admit(registry, tmp_path, signer, f"{registry.host}/acme/unsigned@{unsigned}")
    assert rejected["allowed"] is False
    assert (
        "GATE-IMG-009" in rejected["status"]["message"]
        and "has no verified signature" in rejected["status"]["message"]
    )

    rejected = admit(registry, tmp_path, signer, f"{registry.host}/acme/foreign@{foreign}")
    message = rejected["status"]["message"]
    assert rejected["allowed"] is False and "GATE-IMG-006" in message and "GATE-IMG-009" in message
    assert "found but not counted" in message and "no trusted key verifies" in message
