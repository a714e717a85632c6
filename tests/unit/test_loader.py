"""The policy loader: folders, bundles, METADATA catalogs, data overrides, reloads."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.policy.loader import default_policy_dir, load_policy_set, package_metadata
from gate.policy.source import PolicySource

POLICY = """# METADATA
# title: Example
# description: An example policy.
# custom:
#   id: GATE-X-001
#   severity: high
#   remediation: Do the right thing.
#   scope: reference
package gate.policies.example

violation contains {"msg": "bad"} if input.bad
"""


def write_policies(root: Path, policy: str = POLICY, data: object | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "example.rego").write_text(policy)
    (root / "example_test.rego").write_text(
        "package gate.policies.example_test\n\ntest_x if true\n"
    )
    (root / "data.json").write_text(json.dumps(data or {"gate": {"params": {"example": {"n": 1}}}}))
    return root


def test_folder_builds_catalog_from_package_metadata(tmp_path: Path) -> None:
    ps = load_policy_set(write_policies(tmp_path / "p"))
    info = ps.catalog["example"]
    assert (info.id, info.severity, info.scope, info.title) == (
        "GATE-X-001",
        "high",
        "reference",
        "Example",
    )
    assert info.remediation == "Do the right thing."
    assert ps.data["gate"]["catalog"]["example"]["id"] == "GATE-X-001"
    assert ps.data["gate"]["params"]["example"] == {"n": 1}
    assert [m.path for m in ps.policy_modules] == ["example.rego"]


def test_missing_metadata_is_a_config_error(tmp_path: Path) -> None:
    bare = "package gate.policies.example\n\nviolation contains {} if false\n"
    with pytest.raises(ConfigError, match=r"lacks custom\.id"):
        load_policy_set(write_policies(tmp_path / "p", bare))


def test_overrides_deep_merge(tmp_path: Path) -> None:
    root = write_policies(
        tmp_path / "p", data={"gate": {"params": {"example": {"n": 1, "keep": True}}}}
    )
    override = tmp_path / "o.yaml"
    override.write_text("gate:\n  params:\n    example:\n      n: 2\n")
    ps = load_policy_set(root, [override])
    assert ps.data["gate"]["params"]["example"] == {"n": 2, "keep": True}


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", ""])
def test_bad_override_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    override = tmp_path / "o.json"
    override.write_text(text)
    with pytest.raises(ConfigError):
        load_policy_set(write_policies(tmp_path / "p"), [override])


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("freshness:\n  max_age_days: '90'", 'freshness.max_age_days is a string ("90")'),
        ("tags:\n  disallowed: latest", "tags.disallowed is a string"),
        ("tags:\n  disallowed: [latest, 7]", "tags.disallowed[1] is a number (7)"),
        ("non_root:\n  strict: 'yes'", "non_root.strict is a string"),
        ("vulnerabilities: HIGH", "vulnerabilities is a string"),
        ("registries:\n  approved: null", "registries.approved is null"),
    ],
)
def test_an_override_of_another_type_than_the_default_is_refused(
    tmp_path: Path, override: str, named: str
) -> None:
    # The shipped policy set's data.json gives the types; gate refuses at load time, naming
    # the file and the parameter, instead of judging every image on a nonsense parameter.
    path = tmp_path / "params.yaml"
    path.write_text(
        "gate:\n  params:\n" + "".join(f"    {line}\n" for line in override.split("\n"))
    )
    with pytest.raises(ConfigError) as caught:
        load_policy_set(default_policy_dir(), [path])
    assert str(path) in str(caught.value) and f"data.gate.params.{named}" in str(caught.value)
    assert "data.json" in caught.value.hint


def test_overrides_of_the_defaults_types_and_new_keys_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "gate:\n  params:\n    freshness: {max_age_days: 30.5}\n"
        "    vulnerabilities: {allowed_cves: [CVE-2024-1]}\n"
        "    secrets: {value_patterns: {mine: 'x[0-9]+'}}\n    team: {anything: [1, a]}\n"
    )
    params = load_policy_set(default_policy_dir(), [path]).data["gate"]["params"]
    assert params["freshness"]["max_age_days"] == 30.5 and params["team"] == {"anything": [1, "a"]}


def test_bundle_with_nested_data(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as archive:
        for name, text in {
            "/policies/example.rego": POLICY,
            "/gate/params/data.json": json.dumps({"example": {"n": 3}}),
            "/.manifest": "{}",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    ps = load_policy_set(bundle)
    assert ps.catalog["example"].id == "GATE-X-001"
    assert ps.data["gate"]["params"]["example"] == {"n": 3}


def test_not_a_bundle(tmp_path: Path) -> None:
    broken = tmp_path / "b.tar.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(ConfigError, match="cannot read policy bundle"):
        load_policy_set(broken)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no Rego policies"):
        load_policy_set(tmp_path / "empty")


def test_metadata_must_be_right_above_package() -> None:
    text = "# METADATA\n# title: t\n\n# a comment\npackage x\n"
    assert package_metadata(text) == {}
    assert package_metadata("# METADATA\n# title: t\npackage x\n") == {"title": "t"}


def test_source_reloads_and_keeps_last_good_set(tmp_path: Path) -> None:
    root = write_policies(tmp_path / "p")
    source = PolicySource(root, interval=0)
    first = source.current().fingerprint
    time.sleep(0.01)
    (root / "example.rego").write_text(POLICY.replace("GATE-X-001", "GATE-X-002"))
    assert source.current().catalog["example"].id == "GATE-X-002"
    assert source.current().fingerprint != first
    (root / "example.rego").write_text("package gate.policies.example\n")  # no METADATA
    assert source.current().catalog["example"].id == "GATE-X-002"
    assert source.last_error is not None
