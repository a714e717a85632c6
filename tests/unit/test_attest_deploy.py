"""The deployment material parses and says what it should: the policy loads into the real
Binary Authorization Policy message, and the build attests the pushed digest."""

from __future__ import annotations

import json
import re
import shlex

import yaml
from google.cloud import binaryauthorization_v1 as binauthz

from gate.cli.parser import build_parser
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def test_the_policy_requires_gates_attestor_everywhere() -> None:
    text = (DEPLOY / "binauthz" / "policy.yaml").read_text().replace("PROJECT_ID", "acme")
    policy = binauthz.Policy.from_json(json.dumps(yaml.safe_load(text)))
    rule = policy.default_admission_rule
    assert rule.evaluation_mode == binauthz.AdmissionRule.EvaluationMode.REQUIRE_ATTESTATION
    assert (
        rule.enforcement_mode == binauthz.AdmissionRule.EnforcementMode.ENFORCED_BLOCK_AND_AUDIT_LOG
    )
    assert list(rule.require_attestations_by) == ["projects/acme/attestors/gate"]
    assert policy.global_policy_evaluation_mode == binauthz.Policy.GlobalPolicyEvaluationMode.ENABLE
    # only named system images run unattested: tests/webhook/test_binauthz_policy.py
    assert all(p.name_pattern.endswith("*") for p in policy.admission_whitelist_patterns)


def test_cloudbuild_builds_pushes_and_attests_the_pushed_digest_after_the_scan() -> None:
    build = yaml.safe_load((DEPLOY / "cloudbuild.yaml").read_text())
    steps = {step["id"]: step for step in build["steps"]}
    assert list(steps) == ["check", "build", "push", "attest", "report", "decision", "verify"]
    assert "${_REPOSITORY}:${SHORT_SHA}" in steps["build"]["args"]
    push = steps["push"]["args"][-1]
    assert 'docker push "${_REPOSITORY}:${SHORT_SHA}"' in push and "describe" not in push
    attest = steps["attest"]["args"][-1]
    assert 'gate attest "${_REPOSITORY}@$$(cat /workspace/digest)"' in attest
    assert '--scan-wait "${_SCAN_WAIT}"' in attest and "-e" not in steps["attest"]["args"][0]
    assert "--attestor" in attest and "--key" in attest and "check-and-sign" in attest
    assert "cryptoKeyVersions" in build["substitutions"]["_KMS_KEY"]
    # long enough for Artifact Analysis, and the build's timeout leaves room for it
    assert int(build["substitutions"]["_SCAN_WAIT"]) >= 600
    assert int(build["timeout"].rstrip("s")) >= int(build["substitutions"]["_SCAN_WAIT"]) + 600
    assert build["images"] == ["${_REPOSITORY}:${SHORT_SHA}"]
    assert build["options"]["requestedVerifyOption"] == "VERIFIED"
    assert build["substitutions"]["_GATE_IMAGE"].endswith("@${_GATE_DIGEST}")
    assert {steps[s]["name"] for s in ("attest", "decision", "verify")} == {"${_GATE_IMAGE}"}


def test_cloudbuild_gate_commands_parse_with_the_real_cli() -> None:
    build = yaml.safe_load((DEPLOY / "cloudbuild.yaml").read_text())
    values = {f"${{{k}}}": v for k, v in build["substitutions"].items()}
    values.update({"${PROJECT_ID}": "acme", "${SHORT_SHA}": "abc1234"})
    values["$$(cat /workspace/digest)"] = "sha256:" + "a" * 64
    parsed = []
    for step in build["steps"]:
        script = step.get("args", [""])[-1]
        for name, value in values.items():
            script = script.replace(name, value)
        for command in re.findall(r"^\s*gate (.*?)(?:[|>].*)?$", script.replace("\\\n", " "), re.M):
            parsed.append(build_parser().parse_args(shlex.split(command)))
    attest, verify = parsed
    assert attest.images == ["us-docker.pkg.dev/acme/apps/api@sha256:" + "a" * 64]
    assert (attest.mode, attest.output, attest.scan_wait) == ("check-and-sign", "json", 900)
    assert attest.key.endswith("cryptoKeyVersions/1") and attest.attestor.endswith("/gate")
    assert verify.confirm and verify.image == attest.images[0]


def test_cloudbuild_shell_dollars_are_escaped() -> None:
    """Cloud Build substitutes $VAR and ${VAR}: the shell's must be written $$."""
    build = yaml.safe_load((DEPLOY / "cloudbuild.yaml").read_text())
    allowed = set(build["substitutions"]) | {"PROJECT_ID", "SHORT_SHA", "BUILD_ID"}
    for step in build["steps"]:
        for arg in step.get("args", []):
            for name in re.findall(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)", arg):
                assert name in allowed, (name, arg)
            assert not re.search(r"(?<!\$)\$\(", arg), arg


def test_the_doc_names_every_role_gate_needs() -> None:
    doc = (REPO_ROOT / "docs" / "attestation.md").read_text()
    for role in (
        "roles/cloudkms.signerVerifier",
        "roles/binaryauthorization.attestorsViewer",
        "roles/containeranalysis.notes.attacher",
        "roles/containeranalysis.occurrences.editor",
        "roles/containeranalysis.notes.occurrences.viewer",
    ):
        assert role in doc
    for command in (
        "gcloud kms keys create",
        "gcloud container binauthz attestors create",
        "gcloud container binauthz attestors public-keys add",
        "gcloud container binauthz policy import",
    ):
        assert command in doc
