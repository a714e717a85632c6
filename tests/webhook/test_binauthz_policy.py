"""deploy/binauthz/policy.yaml against what deploy/ runs: no image gate needs is locked out.

Every image of ``deploy/kubernetes`` (base and the OPA overlay, rendered with ``kubectl
kustomize``), of ``deploy/cloudrun`` and cert-manager's images as docs/attestation.md lists
them is either exempted by an ``admissionWhitelistPatterns`` entry, matched the way Binary
Authorization documents it, or passes gate's own reference policies (digest, approved
registry, tags) on the embedded engine. Every pattern is one repository's full path and a
trailing ``*``, never broader, never on Docker Hub, and names a repository something runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud import binaryauthorization_v1 as binauthz

from gate.config import Settings
from gate.policy.document import build_document
from gate.policy.engines import create_engine
from gate.policy.interface import Decision, Engine, Scope
from gate.reference import parse_reference
from tests.conftest import REPO_ROOT
from tests.webhook.test_deploy import render

PROJECT = "acme-prod"
DEPLOY = REPO_ROOT / "deploy"
DOCKER_HUB = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def policy() -> binauthz.Policy:
    text = (DEPLOY / "binauthz" / "policy.yaml").read_text().replace("PROJECT_ID", PROJECT)
    return binauthz.Policy.from_json(json.dumps(yaml.safe_load(text)))


def patterns() -> list[str]:
    return [p.name_pattern for p in policy().admission_whitelist_patterns]


def binauthz_matches(pattern: str, image: str) -> bool:
    """Binary Authorization's namePattern rule: a trailing ``**`` matches anything below, a
    trailing ``*`` anything without ``/`` (the tag or digest included); otherwise the image's
    name, or the image as written, must be the pattern."""
    if pattern.endswith("**"):
        return image.startswith(pattern[:-2])
    if pattern.endswith("*"):
        return image.startswith(pattern[:-1]) and "/" not in image[len(pattern) - 1 :]
    return pattern in (image, parse_reference(image).name)


def pod_images(objects: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for obj in objects:
        spec = obj.get("spec", {})
        pod = (
            spec.get("template", {}).get("spec")
            or spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
            or (spec if obj.get("kind") == "Pod" else {})
        )
        for kind in ("initContainers", "containers"):
            found |= {c["image"] for c in pod.get(kind, [])}
    return found


def rendered(folder: Path) -> list[dict[str, Any]]:
    objects = render(folder)  # kind -> object: one of each kind in these manifests
    text = json.dumps(list(objects.values())).replace("PROJECT_ID", PROJECT)
    loaded: list[dict[str, Any]] = json.loads(text)
    return loaded


def cert_manager_images() -> set[str]:
    """The cert-manager repositories docs/attestation.md lists, at the release it documents."""
    doc = (REPO_ROOT / "docs" / "attestation.md").read_text()
    repositories = set(re.findall(r"^\| `(quay\.io/jetstack/cert-manager-[a-z]+)` \|", doc, re.M))
    assert len(repositories) == 5, repositories
    return {f"{repository}:v1.16.2" for repository in repositories}


def cloud_run_image() -> str:
    """deploy/cloudrun's GATE_IMAGE as docs/api.md fills it in (by digest)."""
    api = (REPO_ROOT / "docs" / "api.md").read_text()
    [example] = re.findall(r'"s\|GATE_IMAGE\|([^|]+)\|"', api)
    assert example.endswith("@sha256:…")
    return example.replace("$PROJECT_ID", PROJECT).replace("…", "a" * 64)


@pytest.fixture(scope="module")
def images() -> dict[str, set[str]]:
    return {
        "deploy/kubernetes": pod_images(rendered(DEPLOY / "kubernetes")),
        "overlays/opa-sidecar": pod_images(
            rendered(DEPLOY / "kubernetes" / "overlays" / "opa-sidecar")
        ),
        "cert-manager": cert_manager_images(),
        "deploy/cloudrun": {cloud_run_image()},
    }


def reference_decision(engine: Engine, image: str) -> Decision:
    document = build_document(parse_reference(image).to_input(), entry_point="admission")
    return engine.evaluate(document, Scope.REFERENCE)


def test_every_image_deploy_runs_is_exempted_or_passes_gates_policies(
    images: dict[str, set[str]],
) -> None:
    engine = create_engine(Settings())
    everything = set().union(*images.values())
    assert len(images["overlays/opa-sidecar"]) == 2 and len(everything) >= 8, images
    for image in sorted(everything):
        exempted = [p for p in patterns() if binauthz_matches(p, image)]
        if exempted:
            assert exempted == [parse_reference(image).name + "*"], (image, exempted)
            continue
        decision = reference_decision(engine, image)
        assert decision.allowed, (image, [v.message for v in decision.violations])


def test_patterns_are_one_repository_each_and_none_on_docker_hub(
    images: dict[str, set[str]],
) -> None:
    names = {parse_reference(image).name for image in set().union(*images.values())}
    found = patterns()
    assert len(found) == len(set(found)) >= 7
    for pattern in found:
        assert pattern.endswith("*") and "*" not in pattern[:-1] and "**" not in pattern, pattern
        repository = pattern[:-1]
        assert not repository.startswith(DOCKER_HUB) and "." in repository.split("/")[0], pattern
        assert len(repository.split("/")) >= 3, pattern  # registry/organisation/name at least
        assert repository in names, f"{pattern} exempts nothing deploy/ runs"
    # gate (before its first attestation), cert-manager and OPA are exempted
    for needed in ("tools/gate", "tools/opa", "jetstack/cert-manager-controller"):
        assert any(needed in pattern for pattern in found), needed


def test_the_opa_sidecar_is_a_digest_pinned_copy_in_an_approved_registry(
    images: dict[str, set[str]],
) -> None:
    engine = create_engine(Settings())
    [opa] = images["overlays/opa-sidecar"] - images["deploy/kubernetes"]
    ref = parse_reference(opa)
    assert ref.digest is not None and not ref.name.startswith(DOCKER_HUB), opa
    assert reference_decision(engine, opa).allowed  # even without the exemption


def test_an_unpinned_docker_hub_image_would_be_neither() -> None:
    """The check has teeth: upstream OPA by tag is refused by gate and exempted by nothing."""
    engine = create_engine(Settings())
    upstream = "openpolicyagent/opa:1.22.3-static"
    assert not any(binauthz_matches(p, parse_reference(upstream).normalized) for p in patterns())
    assert not reference_decision(engine, upstream).allowed


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    [
        ("gcr.io/p/nginx*", "gcr.io/p/nginx:latest", True),
        ("gcr.io/p/nginx*", "gcr.io/p/nginx@sha256:" + "a" * 64, True),
        ("gcr.io/p/nginx*", "gcr.io/p/nginx-images/nginx", False),
        ("gcr.io/p/nginx**", "gcr.io/p/nginx-1.14.2/image:latest", True),
        ("gcr.io/p/nginx", "gcr.io/p/nginx:1.0", True),
        ("gcr.io/p/nginx", "gcr.io/p/nginx2:1.0", False),
    ],
)
def test_the_matcher_follows_binary_authorizations_documented_examples(
    pattern: str, image: str, expected: bool
) -> None:
    assert binauthz_matches(pattern, image) is expected
