"""Image configs and gate metadata documents: real configs map; broken files are InputErrors."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import InputError
from gate.facts.interface import ImageFacts
from gate.facts.metadata import (
    config_facts,
    load_metadata,
    normalize_time,
    parse_metadata,
)

DIGEST = "sha256:" + "c" * 64
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def only_platform(facts: ImageFacts) -> dict[str, Any]:
    assert len(facts.platforms) == 1
    return facts.platforms[0].to_input()


def test_httpd_runs_as_root(fixtures_dir: Path) -> None:
    platform = only_platform(
        load_metadata(fixtures_dir / "oci/image-config-httpd-no-user-root.json")
    )
    assert (platform["os"], platform["architecture"], platform["variant"]) == ("linux", "amd64", "")
    assert (platform["manifest_digest"], platform["media_type"]) == (None, None)
    config = platform["config"]
    assert config["user"] == ""
    assert config["labels"] == {}
    assert config["created"] == "2016-09-23T23:20:45.78976459Z"
    assert config["env"]["HTTPD_VERSION"] == "2.4.23"
    # '=' inside the value stays in the value.
    assert config["env"]["HTTPD_BZ2_URL"].endswith(
        "?action=download&filename=httpd/httpd-2.4.23.tar.bz2"
    )
    assert len(config["env"]) == 6
    assert len(config["history"]) == 15
    assert sum(h["empty_layer"] for h in config["history"]) == 10
    assert config["history"][0]["created"] == "2016-09-23T18:08:50.537223822Z"
    assert (config["exposed_ports"], config["entrypoint"]) == (["80/tcp"], [])
    assert (config["cmd"], config["working_dir"]) == (["httpd-foreground"], "/usr/local/apache2")


def test_nova_named_user_and_red_hat_labels(fixtures_dir: Path) -> None:
    facts = load_metadata(fixtures_dir / "oci/image-config-user-nova-redhat-labels.json")
    config = only_platform(facts)["config"]
    assert config["user"] == "nova"
    assert len(config["labels"]) == 22
    assert config["labels"]["vendor"] == "Red Hat, Inc."
    assert config["labels"]["build-date"] == "2018-01-25T00:32:27.807261"  # labels are verbatim
    assert config["created"] == "2018-01-25T00:37:48.268558Z"
    assert config["env"]["PS1"].startswith("$(tput bold)")
    assert config["history"][0] == {
        "created_by": "",  # a history entry with only a comment
        "created": "2017-11-21T16:47:27.755341705Z",
        "empty_layer": False,
    }
    assert config["history"][-1]["created_by"] == "/bin/sh -c #(nop)  USER [nova]"
    assert (config["exposed_ports"], config["entrypoint"], config["working_dir"]) == ([], [], "")
    assert facts.vulnerabilities is None and facts.attestations == ()


def test_tomcat_reproducible_epoch(fixtures_dir: Path) -> None:
    platform = only_platform(
        load_metadata(fixtures_dir / "oci/image-config-user-tomcat-healthcheck.json")
    )
    assert (platform["os"], platform["architecture"]) == ("js", "wasm")
    config = platform["config"]
    assert config["created"] == "1970-01-01T00:00:20Z"
    assert config["user"] == "tomcat"
    assert config["exposed_ports"] == ["1000/tcp", "2000/tcp", "3000/udp"]
    assert config["entrypoint"] == ["some", "entrypoint", "command"]
    assert config["cmd"] == ["arg1", "arg2"]
    assert config["labels"] == {"key1": "value1", "key2": "value2"}
    assert config["working_dir"] == "/some/workspace"
    assert config["env"] == {"VAR1": "VAL1", "VAR2": "VAL2"}
    assert [h["empty_layer"] for h in config["history"]] == [True, False]


@pytest.mark.parametrize(
    "name",
    [
        "oci/oci-image-index-ppc64le-amd64.json",
        "oci/docker-manifest-list-5-platforms.json",
        "oci/oci-image-manifest-3-layers.json",
        "oci/docker-v2s2-manifest-3-layers.json",
    ],
)
def test_manifests_are_not_configs(fixtures_dir: Path, name: str) -> None:
    with pytest.raises(InputError, match="image manifest or index, not an image config") as err:
        load_metadata(fixtures_dir / name)
    assert "docs/input.md" in err.value.hint


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-09-23T23:29:14.012302012Z", "2016-09-23T23:29:14.012302012Z"),
        ("2016-09-23T23:29:14+00:00", "2016-09-23T23:29:14Z"),
        ("2016-09-23T23:29:14.5-05:30", "2016-09-24T04:59:14.5Z"),
        ("2016-09-24T01:29:14+02:00", "2016-09-23T23:29:14Z"),
        ("2016-09-23t23:29:14z", "2016-09-23T23:29:14Z"),
        ("2016-09-23 23:29:14Z", "2016-09-23T23:29:14Z"),
        ("2016-09-23T23:29:14.0123456789999Z", "2016-09-23T23:29:14.012345678Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),  # Go's zero time: kept, policy decides
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("2016-13-01T00:00:00Z", None),
        ("2016-09-23T23:29:14+01:61", None),
        ("2016-09-23T23:29:14", None),  # no offset: ambiguous
        ("2016-09-23", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1474673354, None),
    ],
)
def test_normalize_time(value: Any, expected: str | None) -> None:
    assert normalize_time(value) == expected


def test_config_facts_defaults_and_env_split() -> None:
    assert config_facts({}) == {
        "user": "",
        "env": {},
        "labels": {},
        "created": None,
        "history": [],
        "exposed_ports": [],
        "entrypoint": [],
        "cmd": [],
        "working_dir": "",
    }
    nulls = {"User": None, "Env": None, "Labels": None, "ExposedPorts": None, "Entrypoint": None}
    assert config_facts({"config": {**nulls, "Cmd": None, "WorkingDir": None}}) == config_facts({})
    env = config_facts({"config": {"Env": ["A=1=2", "EMPTY=", "BARE", "A=3"]}})["env"]
    assert env == {"A": "3", "EMPTY": "", "BARE": ""}  # later entries win, as at run time


@pytest.mark.parametrize(
    ("oci", "message"),
    [
        ({"config": []}, "image config.config: expected an object, got a list"),
        ({"config": {"Env": "A=1"}}, "config.Env: expected a list, got a string"),
        ({"config": {"Env": ["A=1", 2]}}, r"config.Env\[1\]: expected a string, got a number"),
        ({"config": {"Labels": {"a": 1}}}, "config.Labels.a: expected a string"),
        ({"config": {"User": 0}}, "config.User: expected a string, got a number"),
        ({"config": {"Cmd": "run"}}, "config.Cmd: expected a list"),
        ({"history": [{"empty_layer": "yes"}]}, r"history\[0\].empty_layer: expected a boolean"),
        ({"history": {}}, "history: expected a list"),
    ],
)
def test_config_facts_wrong_types(oci: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        config_facts(oci)


def metadata_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "platforms": [
            {
                "os": "linux",
                "architecture": "arm",
                "variant": "v7",
                "manifest_digest": DIGEST,
                "media_type": "application/vnd.oci.image.manifest.v1+json",
                "config": {"config": {"User": "65532"}, "created": "2026-11-20T09:30:00Z"},
            },
            {"config": {"os": "windows", "architecture": "amd64", "config": {}}},
        ],
        "vulnerabilities": {
            "source": "artifact-analysis",
            "scan": {"status": "FINISHED_SUCCESS", "detail": "copied from gcloud"},
            "findings": [
                {
                    "id": "CVE-2024-0001",
                    "aliases": [],
                    "severity": "HIGH",
                    "effective_severity": "MEDIUM",
                    "fixable": True,
                    "package": "openssl",
                    "package_type": "OS",
                    "installed_version": "3.0.1",
                    "fixed_version": "3.0.2",
                    "cvss": 7.5,
                }
            ],
        },
        "attestations": [{"attestor": "projects/p/attestors/built-by-ci", "verified": True}],
    }
    doc.update(overrides)
    return doc


def test_metadata_document(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(metadata_doc()))
    facts = load_metadata(path)
    arm, windows = (p.to_input() for p in facts.platforms)
    assert (arm["os"], arm["architecture"], arm["variant"], arm["manifest_digest"]) == (
        "linux", "arm", "v7", DIGEST,
    )  # fmt: skip
    assert arm["config"]["user"] == "65532"
    # os/architecture default to the config's own fields; digest and media type to null.
    assert (windows["os"], windows["architecture"], windows["variant"]) == ("windows", "amd64", "")
    assert (windows["manifest_digest"], windows["media_type"]) == (None, None)
    assert facts.vulnerabilities is not None
    assert facts.vulnerabilities.to_input() == metadata_doc()["vulnerabilities"]
    assert [dict(a) for a in facts.attestations] == metadata_doc()["attestations"]


def test_metadata_document_minimal() -> None:
    facts = parse_metadata({"platforms": []})
    assert facts == ImageFacts()


def test_compliant_sample() -> None:
    facts = load_metadata(SAMPLES / "compliant-metadata.json")
    platform = only_platform(facts)
    assert platform["config"]["user"] == "65532"
    assert set(platform["config"]["labels"]) == {
        "org.opencontainers.image.source",
        "org.opencontainers.image.revision",
    }
    assert platform["config"]["created"] == "2026-11-20T09:30:00Z"
    assert platform["manifest_digest"] is not None
    assert facts.vulnerabilities is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "the document: expected an object, got a list"),
        ({"platforms": {}}, "platforms: expected a list"),
        ({"platforms": [], "vulnerabilites": None}, "unknown field.*vulnerabilites"),
        (
            {"platforms": [{"config": {}, "digest": DIGEST}]},
            r"platforms\[0\]: unknown field.*digest",
        ),
        ({"platforms": [{"os": "linux"}]}, r"platforms\[0\].config: expected an object, got null"),
        (
            {"platforms": [{"config": {}, "manifest_digest": "sha256:abc"}]},
            "expected sha256:<64 hex>",
        ),
        ({"platforms": [{"config": {}, "os": 1}]}, r"platforms\[0\].os: expected a string"),
        (metadata_doc(vulnerabilities=[]), "vulnerabilities: expected an object"),
        (
            metadata_doc(vulnerabilities={"source": "trivy"}),
            "vulnerabilities.scan: expected an object",
        ),
        (
            metadata_doc(attestations=[{"attestor": "a"}]),
            r"attestations\[0\].verified: expected a boolean",
        ),
        ({"hello": "world"}, "neither an image config"),
    ],
)
def test_bad_metadata_documents(doc: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_metadata(doc)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("severity", "SEVERE", "severity: expected one of UNSPECIFIED"),
        ("fixable", "yes", "fixable: expected a boolean"),
        ("cvss", "9.8", "cvss: expected a number"),
        ("package", None, "package: expected a string, got null"),
        ("extra", 1, "unknown field"),
    ],
)
def test_bad_findings_in_metadata(field: str, value: Any, message: str) -> None:
    doc = metadata_doc()
    doc["vulnerabilities"]["findings"][0][field] = value
    with pytest.raises(InputError, match=message) as err:
        parse_metadata(doc, origin="meta.json")
    assert err.value.message.startswith("meta.json: vulnerabilities.findings[0]")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b'{"platforms": [{"config": {', "not valid JSON (truncated?)"),
        (b"\x00\x01", "not valid JSON"),
    ],
)
def test_unreadable_metadata_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "meta.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(message)):
        load_metadata(path)
    with pytest.raises(InputError, match="cannot read"):
        load_metadata(tmp_path / "missing.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
config_keys = st.sampled_from(
    ["User", "Env", "Labels", "ExposedPorts", "Entrypoint", "Cmd", "WorkingDir"]
)


@settings(max_examples=300, deadline=None)
@given(
    inner=st.dictionaries(config_keys, json_values, max_size=4),
    top=st.dictionaries(st.sampled_from(["created", "history", "os", "architecture"]), json_values),
)
def test_arbitrary_configs_never_crash(inner: dict[str, Any], top: dict[str, Any]) -> None:
    for doc in ({**top, "config": inner}, {"platforms": [{"config": {**top, "config": inner}}]}):
        try:
            facts = parse_metadata(doc)
        except InputError as err:
            assert err.message
        else:
            json.dumps([p.to_input() for p in facts.platforms], allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(doc=json_values)
def test_arbitrary_documents_never_crash(doc: Any) -> None:
    for candidate in (doc, {"platforms": doc}, {"platforms": [], "vulnerabilities": doc}):
        with contextlib.suppress(InputError):
            parse_metadata(candidate)
