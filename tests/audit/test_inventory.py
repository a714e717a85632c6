"""From what the API lists to what gate judges: the running digest, the roll-up of a
workload's Pods, a workload gate cannot read."""

from __future__ import annotations

import pytest

from gate.audit.inventory import POD, workload
from gate.audit.running import judged_reference
from tests.audit.conftest import BAD, BAD_ID, COMPLIANT, bare_pod, listed_pod

DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("image_id", "expected"),
    [
        # containerd: the repository digest the runtime pulled
        (f"docker.io/library/nginx@{DIGEST}", (f"nginx:1.27@{DIGEST}", "status", DIGEST)),
        # dockershim spelled it with a scheme
        (f"docker-pullable://nginx@{DIGEST}", (f"nginx:1.27@{DIGEST}", "status", DIGEST)),
        # another repository holding the same content: only the digest is taken
        (f"mirror.example/lib/nginx@{DIGEST}", (f"nginx:1.27@{DIGEST}", "status", DIGEST)),
        # an image ID (the config's digest) is not a manifest digest: the spec as written
        (f"docker://{DIGEST}", ("nginx:1.27", "spec", "")),
        (DIGEST, ("nginx:1.27", "spec", "")),
        ("", ("nginx:1.27", "spec", "")),
        ("docker.io/library/nginx@sha256:short", ("nginx:1.27", "spec", "")),
    ],
)
def test_the_digest_judged_comes_from_the_container_status(
    image_id: str, expected: tuple[str, str, str]
) -> None:
    assert judged_reference("nginx:1.27", image_id) == expected


def test_a_spec_that_pins_a_digest_is_judged_as_written() -> None:
    spec = f"us-docker.pkg.dev/p/r/app@{DIGEST}"
    other = "sha256:" + "c" * 64
    assert judged_reference(spec, f"us-docker.pkg.dev/p/r/app@{other}") == (spec, "spec", other)


def test_an_invalid_spec_is_judged_as_written_so_the_reference_error_denies() -> None:
    assert judged_reference("UPPER/Case:x", f"x@{DIGEST}")[:2] == ("UPPER/Case:x", "spec")


def test_pods_of_one_workload_are_counted_per_image_and_drift_shows() -> None:
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs1"}]
    other = "docker.io/library/nginx@sha256:" + "c" * 64
    pods = [listed_pod(f"p{i}", [BAD], [BAD_ID], owners=owner) for i in range(3)]
    pods.append(listed_pod("p3", [BAD], [other], owners=owner))
    top = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"}}
    found = workload(POD, {**pods[0], **top}, pods)
    assert found.pods == 4
    assert sorted((i.runtime_digest[-1], i.pods) for i in found.images) == [("a", 3), ("c", 1)]
    assert {i.container.security_context["runAsUser"] for i in found.images} == {65532}


def test_slim_keeps_what_the_audit_reads_and_drops_the_rest() -> None:
    listed = listed_pod("p", [COMPLIANT], [COMPLIANT], annotations={"a": "b"})
    assert listed["kind"] == "Pod" and "managedFields" not in listed["metadata"]
    assert listed["status"]["containerStatuses"] == [{"name": "c0", "imageID": COMPLIANT}]
    assert listed["metadata"]["annotations"] == {"a": "b"}


def test_a_workload_gate_cannot_read_is_a_problem_not_a_crash() -> None:
    listed = listed_pod("broken", [COMPLIANT])
    listed["spec"]["containers"] = [{"name": "c0"}]  # no image
    found = workload(POD, listed, [listed])
    assert found.images == () and found.problem is not None
    assert "has no image" in found.problem.message


def test_a_bare_pod_is_its_own_workload() -> None:
    found = bare_pod("solo", COMPLIANT, ids=[COMPLIANT])
    assert (found.ref.kind, found.ref.name, found.ref.api_version) == ("Pod", "solo", "v1")
    assert found.images[0].reference == COMPLIANT and found.images[0].pods == 1
