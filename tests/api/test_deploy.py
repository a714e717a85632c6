"""The signing-service material parses and says what it should: the Cloud Run manifest's
settings build a working API (only the API, on Cloud Run's port, turned on for the
listed callers), and the Cloud Build steps ask for a token gate accepts. The steps also
run for real against the served gate in test_served.py."""

from __future__ import annotations

import re
from typing import Any

import yaml

from gate.api.state import build_state
from gate.config import Settings
from gate.evaluate import LocalFacts
from gate.policy.interface import Engine
from gate.webhook.app import create_app
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
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


def test_the_build_asks_for_a_token_gate_accepts() -> None:
    build = yaml.safe_load((DEPLOY / "cloudbuild-service.yaml").read_text())
    steps = {step["id"]: step for step in build["steps"]}
    assert list(steps) == ["build", "push", "digest", "attest", "verify"]
    for name, path in (("attest", "/v1/attest"), ("verify", "/v1/verify")):
        script = steps[name]["args"][-1]
        assert 'print-identity-token --audiences="${_GATE_AUDIENCE}" --include-email' in script
        assert f'"${{_GATE_URL}}{path}"' in script and "Authorization: Bearer $$TOKEN" in script
    assert build["substitutions"]["_GATE_AUDIENCE"] == "${_GATE_URL}"
    assert build["options"]["dynamicSubstitutions"] is True


def test_the_build_escapes_its_shell_dollars() -> None:
    """Cloud Build substitutes $VAR and ${VAR}: the shell's must be written $$."""
    allowed = set(yaml.safe_load((DEPLOY / "cloudbuild-service.yaml").read_text())["substitutions"])
    allowed |= {"PROJECT_ID", "SHORT_SHA"}
    for step in yaml.safe_load((DEPLOY / "cloudbuild-service.yaml").read_text())["steps"]:
        for arg in step.get("args", []):
            for name in re.findall(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)", arg):
                assert name in allowed, (name, arg)
            assert not re.search(r"(?<!\$)\$\(", arg), arg
