"""The signing-service material parses and says what it should: the Cloud Run manifest's
settings build a working API (only the API, on Cloud Run's port, turned on for the
listed callers); the Cloud Build steps ask for a token gate accepts, share the digest and
report handling of deploy/cloudbuild.yaml, and every timeout around the attest call leaves
room for gate's scan wait. The steps also run for real against the served gate in
test_cloudbuild_service.py."""

from __future__ import annotations

import re
from typing import Any

import yaml

from gate.api.state import build_state
from gate.config import Settings
from gate.facts.local import LocalFacts
from gate.policy.interface import Engine
from gate.webhook.app import create_app
from tests.conftest import REPO_ROOT
from tests.integration.cloudbuild import duration

DEPLOY = REPO_ROOT / "deploy"
BUILD_AND_PUSH = 600  # seconds the build file allows for `docker build` and `docker push`
PLACEHOLDERS = {"PROJECT_ID": "acme", "PROJECT_NUMBER": "123456", "PROJECT_HASH": "abc"}


def cloud_run() -> dict[str, Any]:
    text = (DEPLOY / "cloudrun" / "service.yaml").read_text()
    for name, value in PLACEHOLDERS.items():
        text = text.replace(name, value)
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_cloud_run_settings_build_the_api(engine: Engine) -> None:
    service = cloud_run()
    assert service["kind"] == "Service" and service["apiVersion"] == "serving.knative.dev/v1"
    annotations = service["metadata"]["annotations"]
    assert annotations["run.googleapis.com/invoker-iam-disabled"] == "true"
    spec = service["spec"]["template"]["spec"]
    [container] = spec["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    settings = Settings.from_env(env)
    api = settings.api
    assert api.enabled and api.only and settings.webhook.insecure_http
    assert settings.webhook.bind.endswith(f":{container['ports'][0]['containerPort']}")
    assert api.callers_of("projects/acme/attestors/gate") == (
        "123456@cloudbuild.gserviceaccount.com",
    )
    state = build_state(settings, engine=engine, facts=LocalFacts())
    assert "cryptoKeyVersions/1" in state.keys["projects/acme/attestors/gate"]
    assert spec["timeoutSeconds"] > api.timeout
    threads = settings.webhook.workers * settings.webhook.threads
    assert spec["containerConcurrency"] <= threads
    assert api.max_in_flight * settings.webhook.workers < spec["containerConcurrency"]
    app = create_app(settings, engine=engine, facts=LocalFacts())
    client = app.test_client()
    for probe in ("startupProbe", "livenessProbe"):
        assert client.get(container[probe]["httpGet"]["path"]).status_code == 200
    assert client.post("/validate", json={}).status_code == 404  # API only


def build_file(name: str = "cloudbuild-service.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text())
    return loaded


def steps_of(build: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in build["steps"]}


def curl_seconds(step: dict[str, Any], flag: str) -> int:
    [value] = re.findall(rf"curl .*{flag} ([0-9]+)", step["args"][-1])
    return int(value)


def test_the_build_asks_for_a_token_gate_accepts() -> None:
    build = build_file()
    steps = steps_of(build)
    assert list(steps) == ["build", "push", "attest", "report", "decision", "verify"]
    for name, path in (("attest", "/v1/attest"), ("verify", "/v1/verify")):
        script = steps[name]["args"][-1]
        assert 'print-identity-token --audiences="${_GATE_AUDIENCE}" --include-email' in script
        assert f'"${{_GATE_URL}}{path}"' in script and "Authorization: Bearer $$TOKEN" in script
        assert "curl -sS --proto =https --fail-with-body" in script  # the token never in clear
    assert build["substitutions"]["_GATE_AUDIENCE"] == "${_GATE_URL}"
    assert build["options"]["dynamicSubstitutions"] is True


def test_the_build_escapes_its_shell_dollars() -> None:
    """Cloud Build substitutes $VAR and ${VAR}: the shell's must be written $$."""
    allowed = set(build_file()["substitutions"]) | {"PROJECT_ID", "SHORT_SHA", "BUILD_ID"}
    for step in build_file()["steps"]:
        for arg in step.get("args", []):
            for name in re.findall(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)", arg):
                assert name in allowed, (name, arg)
            assert not re.search(r"(?<!\$)\$\(", arg), arg


def test_the_build_takes_the_digest_and_keeps_the_report_as_the_cli_build_does() -> None:
    """deploy/cloudbuild.yaml's way, shared as the same text: the digest from `docker push`
    itself, `images:` with VERIFIED provenance, the report in Cloud Storage before the
    build fails with gate's exit code."""
    service, cli = build_file(), build_file("cloudbuild.yaml")
    ours, theirs = steps_of(service), steps_of(cli)
    assert ours["push"] == theirs["push"] and ours["report"] == theirs["report"]
    assert ours["decision"]["args"] == theirs["decision"]["args"]
    assert service["images"] == cli["images"] == ["${_REPOSITORY}:${SHORT_SHA}"]
    assert service["options"]["requestedVerifyOption"] == "VERIFIED"
    assert service["substitutions"]["_REPORTS"] == cli["substitutions"]["_REPORTS"]
    assert "artifacts" not in service  # uploaded only for builds that succeed
    assert (
        "attestation.json" in ours["attest"]["args"][-1]
        and "-o /workspace/" in ours["attest"]["args"][-1]
    )


def test_every_timeout_around_the_attest_call_leaves_room_for_the_scan_wait() -> None:
    """Artifact Analysis scans a push minutes after it, and gate waits for the scan inside
    the call; each timeout around it is above the one inside, so the build always gets
    gate's own answer, and the build's timeout adds them up."""
    spec = cloud_run()["spec"]["template"]["spec"]
    [container] = spec["containers"]
    settings = Settings.from_env({item["name"]: item["value"] for item in container["env"]})
    cli_wait = float(build_file("cloudbuild.yaml")["substitutions"]["_SCAN_WAIT"])
    assert settings.scan_wait >= cli_wait  # as long as the CLI build waits: minutes
    signing = 4 * settings.attest.google_timeout  # attestor, public key, sign, occurrence
    assert settings.scan_wait + settings.fetch_timeout + signing <= settings.api.timeout
    assert settings.api.timeout < spec["timeoutSeconds"]  # gate's 504, not Cloud Run's
    build = build_file()
    attest, verify = steps_of(build)["attest"], steps_of(build)["verify"]
    assert spec["timeoutSeconds"] < curl_seconds(attest, "--max-time")
    # Retries (429, 503) start only before gate could have timed a call out: a call that
    # ran out of time is never repeated.
    assert curl_seconds(attest, "--retry-max-time") < settings.api.timeout
    needed = (BUILD_AND_PUSH + curl_seconds(attest, "--retry-max-time")
              + curl_seconds(attest, "--max-time") + curl_seconds(verify, "--retry-max-time")
              + curl_seconds(verify, "--max-time"))  # fmt: skip
    assert needed < duration(build["timeout"])
