"""The lint input document: BuildKit parsing, stages, ARG/ENV substitution, .dockerignore."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.lint import dockerignore
from gate.lint.document import SCHEMA, Base, Instruction, LintInput, Stage, Var
from gate.lint.parser import directives, parse_file, parse_text
from gate.lint.variables import expand
from tests.conftest import REPO_ROOT

FIXTURES = "dockerfiles"


def _instructions(doc: LintInput, cmd: str) -> list[Instruction]:
    return [i for s in doc["stages"] for i in s["instructions"] if i["cmd"] == cmd]


def _stage(doc: LintInput, index: int = -1) -> Stage:
    return doc["stages"][index]


# --- the fixture Dockerfiles ------------------------------------------------------------


def test_every_fixture_parses_with_its_stages(fixtures_dir: Path) -> None:
    expected = {
        "distroless-go-multistage.Dockerfile": ["golang:1.22", "gcr.io/distroless/static-debian12"],
        "distroless-nodejs-express-add.Dockerfile": [
            "node:22",
            "gcr.io/distroless/nodejs22-debian13",
        ],
        "distroless-python3-venv-multistage.Dockerfile": [
            "python:3.13-slim-trixie",
            "build",
            "gcr.io/distroless/python3-debian13",
        ],
        "juice-shop-distroless-user-65532.Dockerfile": [
            "node:24",
            "gcr.io/distroless/nodejs24-debian13",
        ],
        "k8s-goat-health-check-golang-latest.Dockerfile": ["golang:latest"],
        "k8s-goat-hidden-in-layers-secret.Dockerfile": ["alpine:latest"],
        "k8s-goat-users-repo-env-secret.Dockerfile": ["python:alpine"],
    }
    files = sorted(p.name for p in (fixtures_dir / FIXTURES).iterdir())
    assert files == sorted(expected)
    for name, bases in expected.items():
        doc = parse_file(fixtures_dir / FIXTURES / name)
        assert doc["schema"] == SCHEMA
        assert doc["file"].endswith(name)
        assert [s["base"]["text"] for s in doc["stages"]] == bases
        assert [s["is_final"] for s in doc["stages"]] == [False] * (len(bases) - 1) + [True]
        assert doc["dockerignore"] is None


def test_multistage_lowercase_as_and_copy_from(fixtures_dir: Path) -> None:
    doc = parse_file(fixtures_dir / FIXTURES / "distroless-go-multistage.Dockerfile")
    build, final = doc["stages"]
    assert (build["name"], build["line"], build["in_final_image"]) == ("build", 1, False)
    assert final["line"] == 12 and final["user"] is None
    (copy,) = [i for i in final["instructions"] if i["cmd"] == "COPY"]
    assert copy["flags"] == {"from": "build"}
    assert (copy["sources"], copy["destination"]) == (["/go/bin/app"], "/")
    assert final["base"]["image"] == {
        "original": "gcr.io/distroless/static-debian12",
        "registry": "gcr.io",
        "repository": "distroless/static-debian12",
        "name": "gcr.io/distroless/static-debian12",
        "tag": "",
        "digest": "",
        "normalized": "gcr.io/distroless/static-debian12",
    }


def test_comment_lines_inside_a_continued_run_are_dropped(fixtures_dir: Path) -> None:
    doc = parse_file(fixtures_dir / FIXTURES / "distroless-python3-venv-multistage.Dockerfile")
    run = _instructions(doc, "RUN")[0]
    assert (run["line"], run["end_line"]) == (5, 12)
    assert "Symlink" not in run["command"] and "#" not in run["command"]
    assert "ln -s /usr/local/bin/python /usr/bin/python" in run["command"]
    venv = _stage(doc, 1)
    assert venv["base"]["kind"] == "stage" and venv["base"]["stage"] == 0
    assert venv["origin"]["text"] == "python:3.13-slim-trixie"
    assert [s["in_final_image"] for s in doc["stages"]] == [False, False, True]


def test_user_flags_and_args_of_the_juice_shop_fixture(fixtures_dir: Path) -> None:
    doc = parse_file(fixtures_dir / FIXTURES / "juice-shop-distroless-user-65532.Dockerfile")
    final = _stage(doc)
    assert final["user"] == {"value": "65532", "line": 39, "resolved": True, "stage": 1}
    copy = next(i for i in final["instructions"] if i["cmd"] == "COPY")
    assert copy["flags"] == {"from": "installer", "chown": "65532:0"}
    (arg,) = [i for i in _instructions(doc, "ARG") if i["line"] == 18]
    assert arg["vars"][0]["value"] == "^2.0.0||^3.0.0||^4.0.0"
    label = _instructions(doc, "LABEL")[0]
    assert (label["line"], label["end_line"], label["resolved"]) == (25, 36, False)


def test_env_values_lose_their_quotes(fixtures_dir: Path) -> None:
    doc = parse_file(fixtures_dir / FIXTURES / "k8s-goat-users-repo-env-secret.Dockerfile")
    (env,) = _instructions(doc, "ENV")
    assert env["vars"] == [
        {
            "name": "API_KEY",
            "raw": '"k8s-goat-cf658c56a501385205cc6d2dafee8fc1"',
            "value": "k8s-goat-cf658c56a501385205cc6d2dafee8fc1",
            "has_value": True,
            "resolved": True,
            "line": 4,
        }
    ]


# --- ARG and ENV substitution -----------------------------------------------------------


def test_from_a_global_arg_with_a_default() -> None:
    doc = parse_text("ARG BASE=python\nARG TAG=3.12-slim\nFROM ${BASE}:$TAG AS app\n")
    base: Base = _stage(doc)["base"]
    assert (base["raw"], base["text"], base["resolved"], base["kind"]) == (
        "${BASE}:$TAG",
        "python:3.12-slim",
        True,
        "image",
    )
    assert [v["name"] for v in doc["args"]] == ["BASE", "TAG"]


def test_from_an_arg_without_a_default_is_unresolved() -> None:
    base = _stage(parse_text("ARG BASE\nFROM $BASE\n"))["base"]
    assert (base["kind"], base["image"], base["resolved"]) == ("unresolved", None, False)
    fallback = _stage(parse_text("ARG BASE\nFROM ${BASE:-alpine:3.20}\n"))["base"]
    assert fallback["text"] == "alpine:3.20" and fallback["kind"] == "image"


def test_stage_args_and_env_scopes() -> None:
    doc = parse_text(
        "ARG UID=10001\n"
        "FROM alpine:3.20 AS base\n"
        "ARG UID\n"  # re-declared: takes the global default
        "ENV HOME_DIR=/home/app\n"
        "USER $UID\n"
        "FROM base\n"
        "WORKDIR $HOME_DIR\n"  # ENV is inherited through FROM
        "USER $UID\n"  # ARG is not
    )
    first, second = doc["stages"]
    assert first["user"] == {"value": "10001", "line": 5, "resolved": True, "stage": 0}
    workdir = second["instructions"][0]
    assert workdir["expanded"] == ["/home/app"] and workdir["resolved"]
    assert second["user"] == {"value": "$UID", "line": 8, "resolved": False, "stage": 1}


def test_a_global_arg_is_not_seen_inside_a_stage_unless_redeclared() -> None:
    doc = parse_text("ARG U=app\nFROM alpine:3.20\nUSER $U\n")
    assert _stage(doc)["user"]["resolved"] is False  # type: ignore[index]


def test_user_through_arg_resolved_and_inherited_only_through_from() -> None:
    doc = parse_text(
        "FROM alpine:3.20 AS build\nARG APP_USER=builder\nUSER ${APP_USER}\n"
        "FROM build AS test\n"
        "FROM scratch\nCOPY --from=build /x /x\n"
    )
    build, test, final = doc["stages"]
    assert build["user"] and build["user"]["value"] == "builder"
    assert test["user"] == build["user"]
    assert final["user"] is None and final["base"]["kind"] == "scratch"
    assert [s["in_final_image"] for s in doc["stages"]] == [False, False, True]


@pytest.mark.parametrize(
    ("word", "env", "expected"),
    [
        ("$A", {"A": "x"}, ("x", True)),
        ("${A}", {"A": "x"}, ("x", True)),
        ("${A:-d}", {"A": ""}, ("d", True)),
        ("${A-d}", {"A": ""}, ("", True)),
        ("${A:+alt}", {"A": "x"}, ("alt", True)),
        ("${A:+alt}", {"A": None}, ("${A:+alt}", False)),
        ("${A+alt}", {"A": ""}, ("alt", True)),
        ("${A:?must be set}", {"A": "x"}, ("x", True)),
        ("${A:?must be set}", {"A": None}, ("${A:?must be set}", False)),
        ("${A:-${B:-inner}}", {"A": None, "B": None}, ("inner", True)),
        ("$UNKNOWN", {}, ("$UNKNOWN", False)),
        ("${UNKNOWN:-d}", {}, ("${UNKNOWN:-d}", False)),
        ("'$A'", {"A": "x"}, ("$A", True)),
        ('"$A b"', {"A": "x"}, ("x b", True)),
        ('"a\\"b"', {}, ('a"b', True)),
        ('"a\\b"', {}, ("a\\b", True)),
        ("\\$A", {"A": "x"}, ("$A", True)),
        ("cost$", {}, ("cost$", True)),
        ("${A", {"A": "x"}, ("${A", False)),
        ("${!}", {}, ("${!}", False)),
    ],
)
def test_expand(word: str, env: dict[str, str | None], expected: tuple[str, bool]) -> None:
    assert expand(word, env) == expected


# --- heredocs, flags, escape directive --------------------------------------------------


def test_heredocs_become_part_of_the_command() -> None:
    doc = parse_text(
        "FROM alpine:3.20\n"
        "RUN <<EOF\napk add --no-cache curl\ncurl -fsSL https://x.example | sh\nEOF\n"
        "COPY <<-CONF /etc/app.conf\n\tkey=value\nCONF\n"
        'RUN ["sh", "-c", "echo exec form"]\n'
    )
    run, copy, exec_form = _stage(doc)["instructions"]
    assert (run["line"], run["end_line"]) == (2, 5)
    assert run["heredocs"] == [
        {
            "name": "EOF",
            "content": "apk add --no-cache curl\ncurl -fsSL https://x.example | sh\n",
            "fd": 0,
        }
    ]
    assert "curl -fsSL https://x.example | sh" in run["command"]
    assert copy["sources"] == ["<<-CONF"] and copy["destination"] == "/etc/app.conf"
    assert exec_form["json"] and exec_form["command"] == "sh -c echo exec form"


def test_flags_mounts_and_platform() -> None:
    doc = parse_text(
        "ARG TARGET=/root/.cache/pip\n"
        "FROM --platform=$BUILDPLATFORM python:3.12-slim\n"
        "ARG TARGET\n"
        "RUN --mount=type=cache,target=$TARGET --mount=type=secret,id=npm,required pip install x\n"
        "COPY --link --chmod=755 run.sh /run.sh\n"
    )
    stage = _stage(doc)
    assert stage["platform"] == "$BUILDPLATFORM"
    run, copy = stage["instructions"][1:]
    assert run["mounts"] == [
        {"type": "cache", "target": "/root/.cache/pip"},
        {"type": "secret", "id": "npm", "required": "true"},
    ]
    assert run["flags"] == {}
    assert copy["flags"] == {"link": "true", "chmod": "755"}


def test_escape_directive_backtick() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine:3.20\nENV P=C:\\app `\n  Q=1\nRUN echo a `\n  b\n"
    doc = parse_text(text)
    assert doc["escape"] == "`"
    assert doc["directives"] == {"syntax": "docker/dockerfile:1", "escape": "`"}
    env, run = _stage(doc)["instructions"]
    assert [(v["name"], v["value"]) for v in env["vars"]] == [("P", "C:\\app"), ("Q", "1")]
    assert (run["line"], run["end_line"]) == (6, 7)


def test_directives_stop_at_the_first_other_line() -> None:
    assert directives("# escape=`\n\n# syntax=x\nFROM a\n") == {"escape": "`"}
    assert directives("# a comment\n# escape=`\nFROM a\n") == {}
    assert directives("FROM a\n") == {}


def test_lowercase_instructions_and_stage_names_are_case_insensitive() -> None:
    doc = parse_text("from golang:1.22 AS Build\nrun go build\nfrom BUILD\n")
    assert [i["cmd"] for i in doc["stages"][0]["instructions"]] == ["RUN"]
    assert doc["stages"][0]["name"] == "build"
    assert doc["stages"][1]["base"]["kind"] == "stage"


def test_onbuild_and_invalid_bases() -> None:
    doc = parse_text("FROM Not_Valid:Tag\nONBUILD RUN make\n")
    stage = _stage(doc)
    assert stage["base"]["kind"] == "invalid" and stage["base"]["image"] is None
    onbuild = stage["instructions"][0]
    assert (onbuild["cmd"], onbuild["sub_cmd"], onbuild["command"]) == ("ONBUILD", "RUN", "")


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a valid Dockerfile"),
        ("# only a comment\n", "not a valid Dockerfile"),
        ("import os\nprint(os)\n", "unknown instruction 'import'"),
        ("RUN echo hi\n", "no FROM instruction"),
        ("RUN echo hi\nFROM alpine\n", "RUN before the first FROM"),
        ("FROM\n", "FROM without an image"),
        ("FROM alpine\nRUN <<EOF\nunterminated\n", "unterminated heredoc"),
        ("# escape=x\nFROM alpine\n", "invalid escape directive"),
    ],
)
def test_what_is_not_a_dockerfile_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_text(text)


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    binary = tmp_path / "Dockerfile"
    binary.write_bytes(b"\xff\xfe\x00FROM")
    with pytest.raises(InputError, match="cannot read"):
        parse_file(binary)
    with pytest.raises(InputError, match="not a file"):
        parse_file(tmp_path / "missing")
    huge = tmp_path / "huge.Dockerfile"
    huge.write_text("FROM alpine\n" + "# x\n" * 300_000)
    with pytest.raises(InputError, match="larger than"):
        parse_file(huge)


# --- .dockerignore ------------------------------------------------------------------------


def test_dockerignore_beside_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / ".dockerignore").write_text(
        "# comment\n\n/.git\n**/*.pem\n!keep.pem\n./node_modules/\n"
    )
    ignore = parse_file(tmp_path / "Dockerfile")["dockerignore"]
    assert ignore is not None and ignore["file"] == str(tmp_path / ".dockerignore")
    assert [(p["pattern"], p["exclude"], p["line"]) for p in ignore["patterns"]] == [
        (".git", True, 3),
        ("**/*.pem", True, 4),
        ("keep.pem", False, 5),
        ("node_modules", True, 6),
    ]


def test_a_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / "app.Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / ".dockerignore").write_text(".git\n")
    (tmp_path / "app.Dockerfile.dockerignore").write_text("*\n")
    ignore = parse_file(tmp_path / "app.Dockerfile")["dockerignore"]
    assert ignore and [p["pattern"] for p in ignore["patterns"]] == ["*"]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.pem", ["a.pem"], ["dir/a.pem", "a.pem.txt"]),
        ("**/*.pem", ["a.pem", "dir/sub/a.pem"], ["a.pemx"]),
        ("**", ["anything/at/all"], []),
        (".env*", [".env", ".env.local"], ["x.env"]),
        ("dir/?.txt", ["dir/a.txt"], ["dir/ab.txt", "dir/a/b.txt"]),
        ("a+b(c)", ["a+b(c)"], ["aab(c)"]),
        ("\\*literal", ["*literal"], ["xliteral"]),
    ],
)
def test_dockerignore_regexes_follow_dockers_pattern_matcher(
    pattern: str, matches: list[str], misses: list[str]
) -> None:
    regex = dockerignore.pattern(pattern, 1)["regex"]
    assert all(re.match(regex, path) for path in matches), regex
    assert not any(re.match(regex, path) for path in misses), regex


def test_dockerignore_read_errors(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / ".dockerignore").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="cannot read"):
        parse_file(tmp_path / "Dockerfile")
    (tmp_path / ".dockerignore").write_text("x\n" * 600_000)
    with pytest.raises(InputError, match="larger than"):
        parse_file(tmp_path / "Dockerfile")


# --- the schema is documented -------------------------------------------------------------


def test_every_document_key_is_documented() -> None:
    docs = (REPO_ROOT / "docs" / "lint-input.md").read_text()
    keys: set[str] = set()
    for typed in (LintInput, Stage, Base, Instruction, Var):
        keys |= set(typed.__annotations__)
    missing = sorted(k for k in keys if f"`{k}`" not in docs)
    assert not missing, f"docs/lint-input.md does not describe {missing}"


def _json_roundtrip(doc: Any) -> Any:
    import json

    return json.loads(json.dumps(doc))


def test_the_document_is_plain_json(fixtures_dir: Path) -> None:
    for path in sorted((fixtures_dir / FIXTURES).iterdir()):
        doc = parse_file(path)
        assert _json_roundtrip(doc) == doc
