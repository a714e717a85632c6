"""The image and reference policies' parameters have one default, in policies/data.json.

As tests/unit/test_lint_params.py does for the Dockerfile policies, the sources are read as
text: every parameter a policy reads through gate.lib.params (``params.of("name")``, directly
or through a variable bound to it, then ``.key`` or ``object.get(var, "key", …)``) must be
in data.json, every parameter in data.json must be read, and no policy may read
``data.gate.params`` itself (except main.rego's exemptions, which are not a policy's).
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
FOLDERS = ("image", "reference", "lib")
_BOUND = re.compile(r'(?P<var>\w+)\s*:=\s*params\.of\("(?P<name>\w+)"\)')
_DIRECT = re.compile(r'params\.of\("(?P<name>\w+)"\)\.(?P<key>\w+)')
_ARRAY_AT = re.compile(r'array_at\(\s*params\.of\("(?P<name>\w+)"\)\s*,\s*\["(?P<key>\w+)"')


def _code(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _sources() -> list[Path]:
    found = (p for folder in FOLDERS for p in (POLICIES / folder).glob("*.rego"))
    return sorted(p for p in found if not p.name.endswith("_test.rego"))


def _reads(code: str) -> Iterator[tuple[str, str]]:
    """(policy name, key) for every parameter read in code; key "" for the whole object."""
    for match in _DIRECT.finditer(code):
        yield match["name"], match["key"]
    for match in _ARRAY_AT.finditer(code):
        yield match["name"], match["key"]
    for bound in _BOUND.finditer(code):
        var, name = re.escape(bound["var"]), bound["name"]
        yield name, ""
        for key in re.findall(rf"(?<![\w.]){var}\.(\w+)", code):
            yield name, key
        for key in re.findall(rf'object\.get\(\s*{var}\s*,\s*"(\w+)"', code):
            yield name, key


def _all_reads() -> set[tuple[str, str]]:
    return {read for source in _sources() for read in _reads(_code(source))}


def _mentions() -> set[tuple[str, str]]:
    """(policy name, key) for each key a file that reads params.of(name) names as ``.key``
    or ``"key"``, itself or in a gate.lib module it imports: the reverse check's view, which
    also sees keys passed on to a library function or chosen at run time (the thresholds)."""
    found, params = set(), _params()
    for source in _sources():
        code = _code(source)
        for lib in re.findall(r"import data\.gate\.lib\.(\w+)", code):
            code += "\n" + _code(POLICIES / "lib" / f"{lib}.rego")
        for name in set(re.findall(r'params\.of\("(\w+)"\)', code)):
            section = params.get(name)
            for key in section if isinstance(section, dict) else ():
                if re.search(rf'(\.{key}\b|"{key}")', code):
                    found.add((name, key))
    return found


def _params() -> dict[str, Any]:
    params: dict[str, Any] = json.loads((POLICIES / "data.json").read_text())["gate"]["params"]
    return params


def test_the_reader_follows_variables_bound_to_a_policys_parameters() -> None:
    code = (
        '_params := params.of("vulnerabilities")\n'
        'x := object.get(_params, "allowed_cves", [])\n'
        "y if _params.maximum_fixable_severity\n"
        'z if params.of("gcr").action == "warn"\n'
        'w := lint.array_at(params.of("tags"), ["disallowed"])\n'
    )
    assert set(_reads(code)) == {
        ("vulnerabilities", ""),
        ("vulnerabilities", "allowed_cves"),
        ("vulnerabilities", "maximum_fixable_severity"),
        ("gcr", "action"),
        ("tags", "disallowed"),
    }


def test_every_parameter_a_policy_reads_is_in_data_json() -> None:
    reads, params = _all_reads(), _params()
    assert len(reads) > 25, "the reader found too few reads: has the helper's name changed?"
    missing = [
        f"{name}.{key}" if key else name
        for name, key in sorted(reads)
        if name not in params or (key and key not in params[name])
    ]
    assert missing == [], f"read by a policy but not in policies/data.json: {missing}"


def test_every_parameter_in_data_json_is_read() -> None:
    reads = _all_reads() | _mentions()
    unread = [
        f"{name}.{key}"
        for name, section in _params().items()
        if name not in ("dockerfile", "exemptions") and isinstance(section, dict)
        for key in section
        if (name, key) not in reads
    ]
    assert unread == []


@pytest.mark.parametrize("source", _sources(), ids=lambda p: str(p.relative_to(POLICIES)))
def test_policies_read_parameters_through_gate_lib_params(source: Path) -> None:
    if source.name == "params.rego":
        return
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', _code(source))  # messages may name the path
    assert "data.gate.params" not in code
