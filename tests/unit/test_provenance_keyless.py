"""Keyless Sigstore bundles verified by sigstore-python under a trusted root the test makes.

tests/sigstore_stack.py is a private Sigstore (CA, CT log, Rekor log) with real keys: the
bundles it makes verify offline under its trusted root, and must not under another's.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gate.facts.provenance.bundle import KeylessVerifier
from gate.facts.provenance.interface import ProvenanceError, SignatureFact, Unverified
from gate.facts.provenance.judge import COSIGN_SIGN_PREDICATE, Judge
from tests.sigstore_stack import SigstoreStack

DIGEST = "sha256:" + "1" * 64
ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW = "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"


def statement(digest: str = DIGEST) -> bytes:
    return json.dumps({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "us-docker.pkg.dev/p/r/app", "digest": {"sha256": digest[7:]}}],
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": {},
    }).encode()  # fmt: skip


@pytest.fixture(scope="module")
def stack() -> SigstoreStack:
    return SigstoreStack()


@pytest.fixture(scope="module")
def judge(stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory) -> Judge:
    root = stack.trusted_root(tmp_path_factory.mktemp("sigstore"))
    return Judge((), KeylessVerifier(str(root)))


def test_keyless_signature_names_the_verified_identity(stack: SigstoreStack, judge: Judge) -> None:
    bundle = stack.sign_dsse(statement(), issuer=ISSUER, subject=WORKFLOW)
    fact = judge.bundle(bundle, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, SignatureFact)
    assert fact.to_input()["verified_by"] == {
        "key": None,
        "identity": {"issuer": ISSUER, "subject": WORKFLOW},
    }


def test_email_identities(stack: SigstoreStack, judge: Judge) -> None:
    bundle = stack.sign_dsse(
        statement(), issuer="https://accounts.google.com", subject="dev@example.com"
    )
    fact = judge.bundle(bundle, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, SignatureFact) and fact.verified_by.subject == "dev@example.com"


def test_a_bundle_from_another_sigstore_is_refused(judge: Judge) -> None:
    foreign = SigstoreStack().sign_dsse(statement(), issuer=ISSUER, subject=WORKFLOW)
    fact = judge.bundle(foreign, origin="registry", image_digest=DIGEST)
    assert (
        isinstance(fact, Unverified)
        and "did not verify against the Sigstore trusted root" in fact.reason
    )


def test_a_tampered_bundle_is_refused(stack: SigstoreStack, judge: Judge) -> None:
    doc = json.loads(stack.sign_dsse(statement(), issuer=ISSUER, subject=WORKFLOW))
    doc["dsseEnvelope"]["payload"] = base64.b64encode(statement("sha256:" + "2" * 64)).decode()
    fact = judge.bundle(json.dumps(doc).encode(), origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified)


def test_a_signature_of_another_image_is_refused(stack: SigstoreStack, judge: Judge) -> None:
    bundle = stack.sign_dsse(statement("sha256:" + "2" * 64), issuer=ISSUER, subject=WORKFLOW)
    fact = judge.bundle(bundle, origin="registry", image_digest=DIGEST)
    assert isinstance(fact, Unverified) and "not " + DIGEST in fact.reason


def test_an_unusable_trusted_root_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="cannot use the Sigstore trusted root"):
        KeylessVerifier(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text('{"mediaType": "something/else"}')
    with pytest.raises(ProvenanceError) as raised:
        KeylessVerifier(str(tmp_path / "bad.json"))
    assert "GATE_SIGSTORE_TRUSTED_ROOT" in raised.value.hint
