"""Load a policy set: Rego modules, their METADATA catalog, and parameter data.

A policy set comes from a folder (``policies/``) or an OPA bundle (``.tar.gz``). Data
files follow OPA's bundle rules (``a/b/data.json`` lands at ``data.a.b``); override files
given by the user are deep-merged on top. Each policy package's METADATA becomes
``data.gate.catalog.<name>``, so both engines see the same ids, severities and
remediations.

    >>> ps = load_policy_set(default_policy_dir())
    >>> "digest" in ps.catalog
    True
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gate.errors import ConfigError
from gate.policy.params import check_override

POLICY_PREFIX = "gate.policies."
# Policy families: package prefix -> key under data.gate holding that family's catalog.
CATALOGS = {POLICY_PREFIX: "catalog", "gate.dockerfile.": "lint_catalog"}
REQUIRED_METADATA = ("id", "severity", "remediation", "scope")
MAX_BUNDLE_FILE_BYTES = 8 * 1024 * 1024
_PACKAGE_LINE = re.compile(r"^package\s+([\w.]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PolicyModule:
    path: str  # posix path relative to the policy root
    source: str
    package: str

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    id: str
    title: str
    severity: str
    remediation: str
    scope: str
    description: str = ""

    def to_data(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "remediation": self.remediation,
            "scope": self.scope,
        }


@dataclass(frozen=True)
class PolicySet:
    origin: str
    modules: tuple[PolicyModule, ...]
    data: Mapping[str, Any]
    catalog: Mapping[str, PolicyInfo] = field(default_factory=dict)
    lint_catalog: Mapping[str, PolicyInfo] = field(default_factory=dict)

    @property
    def policy_modules(self) -> tuple[PolicyModule, ...]:
        return tuple(m for m in self.modules if not m.is_test)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for module in self.modules:
            digest.update(module.path.encode() + b"\0" + module.source.encode() + b"\0")
        digest.update(json.dumps(self.data, sort_keys=True).encode())
        return digest.hexdigest()


def default_policy_dir() -> Path:
    """The policies shipped beside the package (a source checkout or editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "policies"


def load_policy_set(source: Path, overrides: Sequence[Path] = ()) -> PolicySet:
    """Load policies and data from a folder or a bundle, then apply override files."""
    files = dict(_read_bundle(source) if _is_bundle(source) else _read_folder(source))
    modules = tuple(
        PolicyModule(path, text, _package_of(path, text))
        for path, text in sorted(files.items())
        if path.endswith(".rego")
    )
    if not any(not m.is_test for m in modules):
        raise ConfigError(
            f"no Rego policies found in {source}",
            hint="point --policies (GATE_POLICIES) at a folder or .tar.gz bundle of .rego files",
        )
    data: dict[str, Any] = {}
    for path, text in sorted(files.items()):
        if PurePosixPath(path).name in {"data.json", "data.yaml"}:
            merge_data(data, _nest(PurePosixPath(path).parent.parts, _parse_data(path, text)))
    for override in overrides:
        given = _parse_data(str(override), _read_text(override))
        check_override(str(override), given, data)  # the types data.json set stay as they are
        merge_data(data, given)
    catalogs = {key: build_catalog(modules, prefix) for prefix, key in CATALOGS.items()}
    gate_data = data.setdefault("gate", {})
    for key, catalog in catalogs.items():
        gate_data[key] = {name: info.to_data() for name, info in catalog.items()}
    return PolicySet(
        origin=str(source),
        modules=modules,
        data=data,
        catalog=catalogs["catalog"],
        lint_catalog=catalogs["lint_catalog"],
    )


def build_catalog(
    modules: Iterable[PolicyModule], prefix: str = POLICY_PREFIX
) -> dict[str, PolicyInfo]:
    """The METADATA of every package directly under ``prefix`` (libraries and tests excluded)."""
    catalog: dict[str, PolicyInfo] = {}
    for module in modules:
        name = module.package.removeprefix(prefix)
        if module.is_test or not module.package.startswith(prefix) or "." in name or name == "main":
            continue
        catalog[name] = _policy_info(name, module)
    return catalog


def package_metadata(source: str) -> dict[str, Any]:
    """The package-scoped ``# METADATA`` block (the one right above ``package``)."""
    match = _PACKAGE_LINE.search(source)
    if not match:
        return {}
    lines = source[: match.start()].rstrip("\n").splitlines()
    block: list[str] = []
    for line in reversed(lines):
        if not line.startswith("#"):
            break
        block.append(line)
    block.reverse()
    starts = [i for i, line in enumerate(block) if line.strip() == "# METADATA"]
    if not starts:
        return {}
    body = "\n".join(
        line[2:] if line.startswith("# ") else line[1:] for line in block[starts[-1] + 1 :]
    )
    parsed = yaml.safe_load(body) or {}
    return parsed if isinstance(parsed, dict) else {}


def _policy_info(name: str, module: PolicyModule) -> PolicyInfo:
    try:
        meta = package_metadata(module.source)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{module.path}: METADATA is not valid YAML: {exc}") from exc
    custom = meta.get("custom") or {}
    missing = [key for key in REQUIRED_METADATA if not custom.get(key)]
    if missing:
        raise ConfigError(
            f"{module.path}: package {module.package} METADATA lacks custom.{', custom.'.join(missing)}",
            hint="every policy package declares custom id, severity, remediation and scope",
        )
    return PolicyInfo(
        name=name,
        id=str(custom["id"]),
        title=str(meta.get("title", name)),
        severity=str(custom["severity"]),
        remediation=str(custom["remediation"]).strip(),
        scope=str(custom["scope"]),
        description=str(meta.get("description", "")).strip(),
    )


def _package_of(path: str, text: str) -> str:
    match = _PACKAGE_LINE.search(text)
    if not match:
        raise ConfigError(
            f"{path}: no package declaration", hint="every .rego file starts with a package"
        )
    return match.group(1)


def _is_bundle(source: Path) -> bool:
    return source.is_file() and source.name.endswith((".tar.gz", ".tgz"))


def _read_folder(root: Path) -> Iterator[tuple[str, str]]:
    if not root.is_dir():
        raise ConfigError(
            f"policy folder {root} does not exist", hint="check --policies / GATE_POLICIES"
        )
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix == ".rego" or path.name in {"data.json", "data.yaml"}:
            yield relative.as_posix(), _read_text(path)


def _read_bundle(bundle: Path) -> Iterator[tuple[str, str]]:
    try:
        with tarfile.open(bundle, "r:gz") as archive:
            for member in archive.getmembers():
                name = PurePosixPath(member.name.lstrip("/"))
                if not member.isfile() or ".." in name.parts:
                    continue
                if name.suffix != ".rego" and name.name not in {"data.json", "data.yaml"}:
                    continue
                if member.size > MAX_BUNDLE_FILE_BYTES:
                    raise ConfigError(
                        f"{bundle}: {name} is larger than {MAX_BUNDLE_FILE_BYTES} bytes"
                    )
                handle = archive.extractfile(member)
                if handle is not None:
                    yield name.as_posix(), io.TextIOWrapper(handle, encoding="utf-8").read()
    except (tarfile.TarError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read policy bundle {bundle}: {exc}", hint="is it an OPA bundle (.tar.gz)?"
        ) from exc


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _parse_data(path: str, text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(parsed, dict):
        raise ConfigError(f"{path}: data must be an object at the top level")
    return parsed


def _nest(parts: Sequence[str], value: dict[str, Any]) -> dict[str, Any]:
    for part in reversed(parts):
        value = {part: value}
    return value


def merge_data(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Deep-merge ``update`` into ``target``: objects merge, anything else replaces."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge_data(target[key], value)
        else:
            target[key] = json.loads(json.dumps(value))
