"""The Dockerfile policies' parameters have one default, in policies/data.json.

The policies are read as text: every parameter path they read through gate.lib.params
(``params.of("name").key``, ``lint.dockerfile.key``, ``lint.array_at(base, [...])``) must
exist in data.json, every Dockerfile parameter in data.json must be read by some policy,
and no policy may read ``data.gate.params`` another way or give a parameter a fallback
other than ``null``, which is how a default would be written in Rego again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

POLICIES = REPO_ROOT / "policies"
DOCKERFILE = POLICIES / "dockerfile"

# The parameters a read starts from: params.of("name"), or the Dockerfile policies' own
# (lint.dockerfile, or dockerfile inside lint.rego). Not gate.dockerfile.<package>.
_BASE = r'(?:params\.of\("(?P<name>\w+)"\)|(?<![\w.])(?P<own>(?:lint\.)?dockerfile)\b)'
_ATTRIBUTES = re.compile(_BASE + r"(?P<attrs>(?:\.\w+)*)")
_ARRAY_AT = re.compile(r"array_at\(\s*" + _BASE + r"\s*,\s*(?P<path>\[[^\]]*\])\s*\)")
_GET = re.compile(r"object\.get\(\s*" + _BASE + r"\s*,[^,]+,\s*(?P<fallback>[^)]+)\)")

ParamPath = tuple[str, ...]


def _code(path: Path) -> str:
    """The source without comment lines (METADATA and notes name parameters in prose)."""
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _sources() -> list[Path]:
    return sorted(p for p in DOCKERFILE.rglob("*.rego") if not p.name.endswith("_test.rego"))


def _base(match: re.Match[str]) -> ParamPath:
    return (match["name"],) if match["name"] else ("dockerfile",)


def _reads(code: str) -> Iterator[tuple[ParamPath, bool]]:
    """(path under data.gate.params, must be a list) for every parameter read in code."""
    for match in _ATTRIBUTES.finditer(code):
        yield _base(match) + tuple(a for a in match["attrs"].split(".") if a), False
    for match in _ARRAY_AT.finditer(code):
        yield _base(match) + tuple(json.loads(match["path"])), True


def _all_reads() -> dict[ParamPath, bool]:
    reads: dict[ParamPath, bool] = {}
    for source in _sources():
        for path, is_list in _reads(_code(source)):
            reads[path] = reads.get(path, False) or is_list
    return reads


def _params() -> dict[str, Any]:
    params: dict[str, Any] = json.loads((POLICIES / "data.json").read_text())["gate"]["params"]
    return params


def _lookup(params: dict[str, Any], path: ParamPath) -> Any:
    value: Any = params
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise KeyError(".".join(path))
        value = value[key]
    return value


def _leaves(value: Any, path: ParamPath) -> Iterator[ParamPath]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    else:
        yield path


def test_the_reader_finds_every_kind_of_read() -> None:
    code = (
        'x := lint.array_at(lint.dockerfile, ["a", "b"])\n'
        'y if params.of("gcr").action == "warn"\n'
        "z if lint.dockerfile.base_digest.action\n"
        "import data.gate.dockerfile.lib.lint\n"
    )
    assert set(_reads(code)) == {
        (("dockerfile",), False),
        (("dockerfile", "a", "b"), True),
        (("gcr", "action"), False),
        (("dockerfile", "base_digest", "action"), False),
    }


def test_every_parameter_a_dockerfile_policy_reads_is_in_data_json() -> None:
    reads, params = _all_reads(), _params()
    assert len(reads) > 15, "the reader found too few reads: has the helper's name changed?"
    missing = []
    for path, is_list in sorted(reads.items()):
        try:
            value = _lookup(params, path)
        except KeyError:
            missing.append(".".join(path))
            continue
        if is_list:
            assert isinstance(value, list), f"{'.'.join(path)} is read as a list"
    assert missing == [], f"read by a Dockerfile policy but not in policies/data.json: {missing}"


def test_every_dockerfile_parameter_in_data_json_is_read() -> None:
    reads = _all_reads()
    unread = [
        ".".join(p) for p in _leaves(_params()["dockerfile"], ("dockerfile",)) if p not in reads
    ]
    assert unread == []


@pytest.mark.parametrize("source", _sources(), ids=lambda p: str(p.relative_to(POLICIES)))
def test_no_parameter_default_in_rego(source: Path) -> None:
    code = _code(source)
    assert "data.gate.params" not in code, "read parameters through gate.lib.params (params.of)"
    assert "lint.param(" not in code
    fallbacks = [m["fallback"].strip() for m in _GET.finditer(code)]
    assert all(f == "null" for f in fallbacks), f"a parameter default in Rego: {fallbacks}"
