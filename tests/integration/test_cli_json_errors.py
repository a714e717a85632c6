"""``--output json`` prints one JSON document on stdout for every outcome, errors included.

A pipeline saves what ``gate eval|attest|verify --output json`` prints (``| tee report.json``):
an error that happens before any image is judged (an unreadable ``--scan`` file, an attestor
that does not list the key, KMS or Binary Authorization unreachable, a missing setting) must
still give a document with ``errors`` filled, and exit 2. The Google APIs are the gRPC test
servers, reached through the real client libraries; an unreachable one is a closed port.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from tests.integration.attest_env import ATTESTOR, GoogleApis, google_apis, key_version

pytestmark = pytest.mark.integration
KEY = key_version("EC_SIGN_P256_SHA256")
IMAGE = "us-docker.pkg.dev/acme/apps/api@sha256:" + "a" * 64


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleApis]:
    for name, value in {
        "GATE_GOOGLE_PLAINTEXT": "true",
        "GATE_GOOGLE_ANONYMOUS": "true",
        "GATE_GOOGLE_TIMEOUT": "3",
    }.items():
        monkeypatch.setenv(name, value)
    with google_apis() as running:
        monkeypatch.setenv("GATE_ARTIFACT_ANALYSIS_ENDPOINT", running.server.address)
        key = running.kms.add_key(KEY, "EC_SIGN_P256_SHA256")
        running.add_attestor(
            [("//cloudkms.googleapis.com/v1/" + KEY, key.pem, "ECDSA_P256_SHA256")]
        )
        yield running


def closed_port() -> str:
    """An address nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    document = json.loads(out)  # exactly one JSON document, whatever happened
    assert isinstance(document, dict), out
    return code, document, err


def only_error(document: dict[str, Any], kind: str, words: str) -> dict[str, Any]:
    [error] = document["errors"]
    assert error["kind"] == kind and words in error["message"], error
    assert error["hint"], error
    return error


def test_eval_with_an_unreadable_scan_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "absent-trivy.json"
    code, document, err = run(capsys, "eval", IMAGE, "--scan", str(missing), "--output", "json")
    assert code == 2
    only_error(document, "scan", str(missing))
    assert document["allowed"] is False and document["results"] == []
    assert "cannot read scan report" in err  # people still read stderr


def test_eval_with_unreadable_metadata(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "meta.json"
    broken.write_text('{"platforms": [')
    code, document, _ = run(capsys, "eval", IMAGE, "--metadata", str(broken), "--output", "json")
    assert code == 2 and document["allowed"] is False
    only_error(document, "input", str(broken))


def test_eval_success_carries_an_empty_error_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, document, _ = run(capsys, "eval", "nginx:latest", "--output", "json")
    assert code == 1 and document["errors"] == [] and len(document["results"]) == 1


def test_attest_with_an_attestor_that_does_not_list_the_key(
    apis: GoogleApis, capsys: pytest.CaptureFixture[str]
) -> None:
    other = key_version("EC_SIGN_P384_SHA384")
    apis.kms.add_key(other, "EC_SIGN_P384_SHA384")
    code, document, _ = run(
        capsys, "attest", IMAGE, "--attestor", ATTESTOR, "--key", other,
        "--kms-endpoint", apis.server.address, "--binauthz-endpoint", apis.server.address,
        "--output", "json",
    )  # fmt: skip
    assert code == 2
    error = only_error(document, document["errors"][0]["kind"], "not one of the keys")
    assert error["kind"] in ("attestation", "config")
    assert document["exit_code"] == 2 and document["results"] == []
    assert document["mode"] == "check-and-sign" and document["dry_run"] is False
    assert apis.stored() == [] and not apis.kms.called("AsymmetricSign")


def test_attest_with_kms_unreachable(apis: GoogleApis, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = run(
        capsys, "attest", IMAGE, "--attestor", ATTESTOR, "--key", "gcpkms://" + KEY,
        "--kms-endpoint", closed_port(), "--binauthz-endpoint", apis.server.address,
        "--output", "json",
    )  # fmt: skip
    assert code == 2 and document["exit_code"] == 2 and document["results"] == []
    [error] = document["errors"]
    assert "Cloud KMS" in error["message"] or "cloudkms" in error["message"], error
    assert apis.stored() == []


def test_attest_with_binary_authorization_unreachable(
    apis: GoogleApis, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = run(
        capsys, "attest", IMAGE, "--attestor", ATTESTOR, "--key", "gcpkms://" + KEY,
        "--kms-endpoint", apis.server.address, "--binauthz-endpoint", closed_port(),
        "--output", "json",
    )  # fmt: skip
    assert code == 2 and document["exit_code"] == 2
    assert len(document["errors"]) == 1 and document["errors"][0]["hint"]


def test_attest_without_attestor_and_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = run(capsys, "attest", IMAGE, "--output", "json")
    assert code == 2
    only_error(document, "config", "needs an attestor and a key")


def test_verify_without_an_attestor(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = run(capsys, "verify", IMAGE, "--output", "json")
    assert code == 2
    only_error(document, "config", "needs the attestor")
    assert document["verified"] is False and document["occurrences"] == []
    assert document["image"] == IMAGE


def test_verify_with_binary_authorization_unreachable(
    apis: GoogleApis, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = run(
        capsys, "verify", IMAGE, "--attestor", ATTESTOR,
        "--binauthz-endpoint", closed_port(), "--output", "json",
    )  # fmt: skip
    assert code == 2 and document["verified"] is False
    assert len(document["errors"]) == 1 and document["attestor"] == ATTESTOR


def test_verify_success_carries_an_empty_error_list(
    apis: GoogleApis, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = run(
        capsys, "verify", IMAGE, "--attestor", ATTESTOR,
        "--binauthz-endpoint", apis.server.address, "--output", "json",
    )  # fmt: skip
    assert code == 1 and document["verified"] is False and document["errors"] == []


def test_a_bug_is_an_error_document_not_a_traceback_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception exits 2 (error), never 1 (which means denied)."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("gate.cli.local.evaluate_image", broken)
    code, document, err = run(capsys, "eval", IMAGE, "--output", "json")
    assert code == 2 and document["allowed"] is False
    only_error(document, "internal", "RuntimeError")
    assert "Traceback" in err and "boom" in err
