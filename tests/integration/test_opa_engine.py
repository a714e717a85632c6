"""The OPA engine against a real ``opa run --server``.

Each test writes its own small policy set (a ``gate.main`` in the documented decision
shape and one or two policies), so these tests do not move with ``policies/``; the
parity test covers the real policy set.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from gate.config import Settings
from gate.errors import ConfigError
from gate.policy.embedded import EmbeddedEngine
from gate.policy.engines import create_engine
from gate.policy.interface import IMAGE_SCOPES, Decision, EngineError, Scope
from gate.policy.opa import OpaEngine, OpaUnavailable
from gate.policy.source import PolicySource
from tests.integration.opa_server import OpaServer, free_port

pytestmark = pytest.mark.integration

MAIN = """\
package gate.main

_results(names, kind) := [object.union(_describe(name), finding) |
	some name in names
	some finding in data.gate.policies[name][kind]
]

_describe(name) := {
	"policy": name,
	"id": data.gate.catalog[name].id,
	"severity": data.gate.catalog[name].severity,
	"title": data.gate.catalog[name].title,
	"remediation": data.gate.catalog[name].remediation,
}

_decide(names) := {
	"allowed": count(_results(names, "violation")) == 0,
	"violations": _results(names, "violation"),
	"warnings": _results(names, "warning"),
	"exempted": [],
}

decision := _decide({name | some name, _ in data.gate.catalog})

reference_decision := _decide({name | some name, m in data.gate.catalog; m.scope == "reference"})
"""

TAGS = """\
# METADATA
# title: blocked tags
# custom:
#   id: TEST-REF-001
#   severity: high
#   remediation: Use another tag.
#   scope: reference
package gate.policies.tags

violation contains {"msg": msg, "image": input.image.reference.name} if {
	input.image.reference.tag in data.gate.params.tags.blocked
	msg := sprintf("tag %s is blocked", [input.image.reference.tag])
}
"""

# to_number("latest") is a builtin error: an error in strict mode, silently undefined
# (and so no violation: allowed) without it.
NUMBERED = """\
# METADATA
# title: numbered tags
# custom:
#   id: TEST-IMG-001
#   severity: medium
#   remediation: Use a numbered tag below 10.
#   scope: image
package gate.policies.numbered

violation contains {"msg": "tag number too high", "image": input.image.reference.name} if {
	to_number(input.image.reference.tag) >= 10
}
"""


def write_policies(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def basic_set(root: Path, blocked: tuple[str, ...] = ("latest",)) -> Path:
    return write_policies(
        root,
        {
            "main.rego": MAIN,
            "reference/tags.rego": TAGS,
            "data.json": json.dumps({"gate": {"params": {"tags": {"blocked": list(blocked)}}}}),
        },
    )


def document(tag: str | None = "latest", digest: str | None = None) -> dict[str, Any]:
    name = "us-docker.pkg.dev/p/r/app"
    normalized = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return {
        "schema_version": "gate.input/v1",
        "entry_point": "eval",
        "evaluated_at": "2026-01-01T00:00:00Z",
        "image": {
            "reference": {
                "original": normalized,
                "registry": "us-docker.pkg.dev",
                "repository": "p/r/app",
                "name": name,
                "tag": tag,
                "digest": digest,
                "normalized": normalized,
            },
            "platforms": [],
            "vulnerabilities": None,
            "attestations": [],
        },
        "workload": None,
    }


def violated(decision: Decision) -> list[str]:
    """The ids of the violated policies of a decision that had no error."""
    assert not decision.errors, decision.errors
    assert not decision.allowed
    return [v.policy_id for v in decision.violations]


@pytest.fixture
def engine_for(opa_url: str) -> Any:
    """``engine_for(folder)``: an OPA engine pushing that folder (reloads checked always)."""
    engines: list[OpaEngine] = []

    def make(folder: Path, **options: Any) -> OpaEngine:
        engine = OpaEngine(opa_url, PolicySource(folder, interval=0), **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


def test_push_then_query_matches_the_embedded_engine(
    tmp_path: Path, engine_for: Callable[..., OpaEngine]
) -> None:
    folder = basic_set(tmp_path)
    opa = engine_for(folder)
    embedded = EmbeddedEngine(PolicySource(folder))
    for doc in (document("latest"), document("1.2")):
        for scope in IMAGE_SCOPES:
            assert opa.query(doc, scope) == embedded.query(doc, scope)
    decision = opa.evaluate(document("latest"))
    assert not decision.allowed
    assert decision.engine == "opa"
    assert [v.policy_id for v in decision.violations] == ["TEST-REF-001"]
    assert decision.violations[0].message == "tag latest is blocked"
    assert opa.evaluate(document("1.2")).allowed


def test_policies_are_pushed_under_their_module_path(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    engine_for(basic_set(tmp_path)).prepare()
    held = requests.get(f"{opa_url}/v1/policies", timeout=5).json()["result"]
    assert {"main.rego", "reference/tags.rego"} <= {p["id"] for p in held}
    params = requests.get(f"{opa_url}/v1/data/gate/params", timeout=5).json()["result"]
    assert params == {"tags": {"blocked": ["latest"]}}


def test_builtin_error_is_an_engine_error_and_denies(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    folder = write_policies(basic_set(tmp_path), {"image/numbered.rego": NUMBERED})
    opa = engine_for(folder)
    with pytest.raises(EngineError) as caught:
        opa.query(document("latest"))
    assert "to_number" in caught.value.message
    assert not isinstance(caught.value, OpaUnavailable)

    decision = opa.evaluate(document("latest"))
    assert not decision.allowed
    assert decision.errors[0].kind == "engine"
    assert "to_number" in decision.errors[0].message
    assert "builtin error" in decision.errors[0].hint
    # The embedded engine denies the same way.
    embedded = EmbeddedEngine(PolicySource(folder)).evaluate(document("latest"))
    assert not embedded.allowed and embedded.errors
    # Without strict-builtin-errors OPA would have said nothing (and the tag check,
    # reference scope only, allows a non-blocked tag): the query flag is what denies.
    lax = requests.post(
        f"{opa_url}/v1/data/gate/main/decision",
        json={"input": document("v9x")},
        timeout=5,
    )
    assert lax.status_code == 200 and lax.json()["result"]["allowed"] is True
    assert not opa.evaluate(document("v9x")).allowed
    # Numbers parse: no error, and the rule decides.
    assert violated(opa.evaluate(document("12")))
    assert opa.evaluate(document("3")).allowed


def test_opa_down_denies_with_a_clear_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    engine = OpaEngine(url, push=False, retries=0, timeout=2)
    with pytest.raises(OpaUnavailable):
        engine.query(document())
    decision = engine.evaluate(document())
    assert not decision.allowed
    (error,) = decision.errors
    assert error.kind == "engine"
    assert f"cannot reach OPA at {url}" in error.message
    assert f"is OPA running at {url}?" in error.hint


def test_opa_down_while_pushing_denies(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    engine = OpaEngine(url, PolicySource(basic_set(tmp_path)), retries=0, timeout=2)
    decision = engine.evaluate(document("1.0"))
    assert not decision.allowed
    assert "cannot reach OPA" in decision.errors[0].message


def test_opa_stopped_then_back_recovers(
    tmp_path: Path, opa_factory: Callable[..., OpaServer]
) -> None:
    server = opa_factory()
    engine = OpaEngine(server.url, PolicySource(basic_set(tmp_path)), retry_push_after=0)
    assert engine.evaluate(document("1.0")).allowed
    server.stop()
    down = engine.evaluate(document("1.0"))
    assert not down.allowed and "cannot reach OPA" in down.errors[0].message
    server.start()  # same port, empty OPA: the engine notices and pushes again
    assert engine.evaluate(document("1.0")).allowed
    assert violated(engine.evaluate(document("latest")))


def test_undefined_decision_is_none_and_denies(
    tmp_path: Path, engine_for: Callable[..., OpaEngine]
) -> None:
    # Only the reference decision is defined in this set.
    undefined = MAIN.replace(
        "decision := _decide({name | some name, _ in data.gate.catalog})",
        "decision := _decide({name | some name, _ in data.gate.catalog}) if input.never",
    )
    assert undefined != MAIN
    folder = write_policies(basic_set(tmp_path), {"main.rego": undefined})
    opa = engine_for(folder)
    assert opa.query(document("1.0"), Scope.FULL) is None
    assert opa.query(document("1.0"), Scope.REFERENCE) is not None
    decision = opa.evaluate(document("1.0"))
    assert not decision.allowed
    assert "no decision" in decision.errors[0].message
    assert EmbeddedEngine(PolicySource(folder)).query(document("1.0")) is None


def test_reload_on_policy_and_data_change(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    folder = basic_set(tmp_path)
    opa = engine_for(folder)
    assert violated(opa.evaluate(document("latest")))
    assert opa.evaluate(document("edge")).allowed

    # Data changes: the new parameters are pushed.
    basic_set(folder, blocked=("edge",))
    assert opa.evaluate(document("latest")).allowed
    assert violated(opa.evaluate(document("edge")))

    # A rule changes, through a helper in a module that sorts after its caller (OPA
    # refuses the caller until the helper is there: the push must find the order).
    write_policies(
        folder,
        {
            "reference/tags.rego": TAGS.replace(
                "package gate.policies.tags\n",
                "package gate.policies.tags\n\nimport data.gate.zz.helpers\n",
            ).replace(
                'sprintf("tag %s is blocked", [input.image.reference.tag])',
                "helpers.message(input.image.reference.tag)",
            ),
            "zz/helpers.rego": (
                "package gate.zz.helpers\n\n"
                'message(tag) := sprintf("tag %s is not allowed here", [tag])\n'
            ),
        },
    )
    assert opa.evaluate(document("edge")).violations[0].message == "tag edge is not allowed here"

    # A module is added, then removed: OPA forgets it too.
    write_policies(folder, {"image/numbered.rego": NUMBERED})
    assert violated(opa.evaluate(document("12")))
    (folder / "image" / "numbered.rego").unlink()
    assert opa.evaluate(document("12")).allowed
    held = {p["id"] for p in requests.get(f"{opa_url}/v1/policies", timeout=5).json()["result"]}
    assert "image/numbered.rego" not in held


def test_modules_left_by_an_older_set_are_deleted(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    old = write_policies(basic_set(tmp_path / "old"), {"image/numbered.rego": NUMBERED})
    engine_for(old).prepare()
    new = basic_set(tmp_path / "new")
    fresh = engine_for(new)  # a new gate process: it knows nothing of the old push
    assert fresh.evaluate(document("12")).allowed
    held = {p["id"] for p in requests.get(f"{opa_url}/v1/policies", timeout=5).json()["result"]}
    assert "image/numbered.rego" not in held


def test_only_changed_modules_are_uploaded(
    tmp_path: Path, engine_for: Callable[..., OpaEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = basic_set(tmp_path)
    engine_for(folder).prepare()

    def counting(engine: OpaEngine) -> list[str]:
        uploads: list[str] = []
        upload = engine._client.update_policy_from_string

        def counted(text: str, path: str, **options: Any) -> Any:
            uploads.append(path)
            return upload(text, path, **options)

        monkeypatch.setattr(engine._client, "update_policy_from_string", counted)
        return uploads

    # A new gate process on an OPA that already holds the set uploads nothing.
    restarted = engine_for(folder)
    uploads = counting(restarted)
    restarted.prepare()
    assert uploads == []
    # A changed file is the only upload, for a running engine and a restarted one.
    write_policies(folder, {"reference/tags.rego": TAGS.replace("is blocked", "is refused here")})
    assert (
        restarted.evaluate(document("latest")).violations[0].message == "tag latest is refused here"
    )
    assert uploads == ["reference/tags.rego"]
    write_policies(folder, {"reference/tags.rego": TAGS})
    again = engine_for(folder)
    uploads = counting(again)
    assert again.evaluate(document("latest")).violations[0].message == "tag latest is blocked"
    assert uploads == ["reference/tags.rego"]


def test_a_policy_opa_rejects_is_an_engine_error(
    tmp_path: Path, engine_for: Callable[..., OpaEngine]
) -> None:
    folder = write_policies(
        basic_set(tmp_path),
        {"reference/broken.rego": "package gate.broken\n\nx := data.gate.nothing.f(1)\n"},
    )
    engine = engine_for(folder, retry_push_after=60)
    decision = engine.evaluate(document("1.0"))
    assert not decision.allowed
    assert "cannot upload policy reference/broken.rego" in decision.errors[0].message
    assert "undefined function" in decision.errors[0].message
    assert "opa check" in decision.errors[0].hint
    # Fixing the file makes the next evaluation push again (fingerprint changed).
    (folder / "reference" / "broken.rego").unlink()
    assert engine.evaluate(document("1.0")).allowed


def test_push_false_queries_what_opa_serves(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    engine_for(basic_set(tmp_path)).prepare()  # stands in for a bundle OPA loaded itself
    served = OpaEngine(opa_url, push=False)
    assert served.prepare() == ""
    assert violated(served.evaluate(document("latest")))
    assert served.evaluate(document("1.0")).allowed


@pytest.mark.parametrize("env_bundle", [False, True])
def test_tls_with_ca_file(
    tmp_path: Path, opa_tls_server: OpaServer, monkeypatch: pytest.MonkeyPatch, env_bundle: bool
) -> None:
    # requests lets REQUESTS_CA_BUNDLE replace a session's verify: the CA file must win.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if env_bundle:
            monkeypatch.setenv(name, requests.certs.where())
        else:
            monkeypatch.delenv(name, raising=False)
    source = PolicySource(basic_set(tmp_path))
    engine = OpaEngine(opa_tls_server.url, source, ca_file=opa_tls_server.ca_file)
    assert engine.url.startswith("https://127.0.0.1:")
    denied = engine.evaluate(document("latest"))
    assert not denied.allowed and not denied.errors
    assert denied.violations[0].policy_id == "TEST-REF-001"
    assert engine.evaluate(document("1.0")).allowed


def test_tls_without_the_ca_is_refused(tmp_path: Path, opa_tls_server: OpaServer) -> None:
    engine = OpaEngine(opa_tls_server.url, PolicySource(basic_set(tmp_path)), retries=0)
    decision = engine.evaluate(document("1.0"))
    assert not decision.allowed
    assert "TLS handshake with OPA" in decision.errors[0].message
    assert "GATE_OPA_CA_FILE" in decision.errors[0].hint


def test_plain_http_to_a_tls_server_is_an_error(opa_tls_server: OpaServer) -> None:
    url = opa_tls_server.url.replace("https://", "http://")
    decision = OpaEngine(url, push=False, retries=0).evaluate(document())
    assert not decision.allowed
    assert decision.errors[0].kind == "engine"


def test_token(tmp_path: Path, opa_token_server: OpaServer) -> None:
    url, token = opa_token_server.url, opa_token_server.token
    folder = basic_set(tmp_path)
    engine = OpaEngine(url, PolicySource(folder), token=token)
    assert violated(engine.evaluate(document("latest")))
    assert engine.evaluate(document("1.0")).allowed

    wrong = OpaEngine(url, PolicySource(folder), token="not-" + token).evaluate(document())
    assert not wrong.allowed
    assert "refused" in wrong.errors[0].message
    assert "check GATE_OPA_TOKEN" in wrong.errors[0].hint

    missing = OpaEngine(url, push=False).evaluate(document())
    assert not missing.allowed
    assert "set GATE_OPA_TOKEN" in missing.errors[0].hint


def test_create_engine_from_settings(tmp_path: Path, opa_url: str) -> None:
    folder = basic_set(tmp_path)
    embedded = create_engine(Settings(policies=folder))
    assert isinstance(embedded, EmbeddedEngine)
    opa = create_engine(Settings(policies=folder, engine="opa", opa_url=opa_url, opa_timeout=3))
    assert isinstance(opa, OpaEngine) and opa.push and opa.timeout == 3
    assert opa.query(document("latest")) == embedded.query(document("latest"))
    served = create_engine(
        Settings(policies=folder, engine="opa", opa_url=opa_url, opa_push_policies=False)
    )
    assert isinstance(served, OpaEngine) and not served.push


@pytest.mark.parametrize(
    "url",
    ["127.0.0.1:8181", "ftp://opa:8181", "http://", "http://opa:8181/v1", "http://u:p@opa:1"],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        OpaEngine(url, push=False)


def test_url_forms() -> None:
    assert OpaEngine("http://opa", push=False).url == "http://opa:80"
    assert OpaEngine("https://opa.example/", push=False).url == "https://opa.example:443"
    assert OpaEngine("http://[::1]:8181", push=False).url == "http://[::1]:8181"
    with pytest.raises(ConfigError):
        OpaEngine("http://127.0.0.1:8181", push=False, ca_file="/tmp/ca.pem")
    with pytest.raises(ConfigError):
        OpaEngine("http://127.0.0.1:8181")  # push without a source


def test_healthy(opa_url: str) -> None:
    assert OpaEngine(opa_url, push=False).healthy()
    assert not OpaEngine(f"http://127.0.0.1:{free_port()}", push=False, retries=0).healthy()


def test_top_level_data_that_is_not_an_object_is_written_replaced_and_deleted(
    tmp_path: Path, opa_url: str, engine_for: Callable[..., OpaEngine]
) -> None:
    """The client writes objects; a list or a number at the top goes up as a JSON patch."""
    folder = basic_set(tmp_path)
    data = json.loads((folder / "data.json").read_text())
    (folder / "data.json").write_text(json.dumps({**data, "limits": [1, 2], "level": 3}))
    opa = engine_for(folder)
    assert violated(opa.evaluate(document("latest")))

    def served(key: str) -> Any:
        return requests.get(f"{opa_url}/v1/data/{key}", timeout=5).json().get("result")

    assert (served("limits"), served("level")) == ([1, 2], 3)
    (folder / "data.json").write_text(json.dumps({**data, "limits": "none"}))
    assert violated(opa.evaluate(document("latest")))
    assert (served("limits"), served("level")) == ("none", None)
