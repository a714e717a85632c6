"""Run a Cloud Build config's steps here, as Cloud Build would run them, for tests.

:class:`CloudBuild` reads a ``cloudbuild.yaml`` and runs every step in order, stopping at
the first that fails, the way Cloud Build does: substitutions (built-in ones, the file's
defaults and the overrides; with ``dynamicSubstitutions`` the values are expanded too)
are applied to ``name``, ``entrypoint`` and ``args``, ``$$`` becomes ``$``, and an unknown
``$NAME`` is an error as it is for Cloud Build. The build's ``timeout`` (Cloud Build's
default 600 s when the file sets none) bounds the whole run. A step runs its ``entrypoint`` (or its
builder image's default one) with its ``args`` in the workspace, a temporary folder that
stands for ``/workspace`` and, as there, belongs to root (mode 0755). A step whose image
runs as another user (``users``: gate's image runs as its Dockerfile's ``USER``) runs as
that user, so it can write in the workspace only what an earlier step let it write, as on
Cloud Build; it keeps CAP_DAC_READ_SEARCH to read the test's Python and gate, which a real
image would carry itself. Step images are not pulled: the commands run from ``PATH``
(gate from the virtualenv; stand-ins for ``docker`` and ``gcloud``, see
:mod:`tests.integration.cloudbuild_standins`). Keys this runner does not implement are
refused, so a test never passes by silently skipping part of the file.

    >>> step = {"name": "gcr.io/cloud-builders/docker", "args": ["push", "$_REPO:$$HOME"]}
    >>> build = CloudBuild.parse({"steps": [step]}, {"PROJECT_ID": "p"}, _REPO="r/${PROJECT_ID}")
    >>> build.argv(build.steps[0])
    ['docker', 'push', 'r/${PROJECT_ID}:$HOME']
    >>> CloudBuild.parse({"steps": [step], "options": {"dynamicSubstitutions": True}},
    ...                  {"PROJECT_ID": "p"}, _REPO="r/${PROJECT_ID}").argv(step)[2]
    'r/p:$HOME'

"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BUILTINS = ("PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "SHORT_SHA", "COMMIT_SHA")
TOP_LEVEL = {"steps", "substitutions", "options", "timeout", "images", "artifacts"}
STEP_KEYS = {"id", "name", "entrypoint", "args"}
OPTIONS = {"dynamicSubstitutions", "logging", "requestedVerifyOption"}
DEFAULT_ENTRYPOINTS = {"gcr.io/cloud-builders/docker": "docker"}
DEFAULT_TIMEOUT = 600.0  # Cloud Build's, for a build file without `timeout`
_TOKEN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class StepResult:
    id: str
    argv: list[str]
    code: int
    seconds: float


@dataclass
class CloudBuild:
    steps: list[dict[str, Any]]
    values: dict[str, str]
    images: list[str] = field(default_factory=list)
    default_entrypoints: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # image -> "uid:gid" (default root)
    timeout: float = DEFAULT_TIMEOUT  # seconds for the whole build

    @classmethod
    def load(cls, path: Path, builtins: Mapping[str, str], **overrides: str) -> CloudBuild:
        return cls.parse(yaml.safe_load(path.read_text()), builtins, **overrides)

    @classmethod
    def parse(
        cls, doc: Mapping[str, Any], builtins: Mapping[str, str], **overrides: str
    ) -> CloudBuild:
        unknown = set(doc) - TOP_LEVEL
        assert not unknown, f"the runner does not implement {sorted(unknown)}"
        options = doc.get("options", {})
        assert set(options) <= OPTIONS, f"the runner does not implement options {options}"
        for step in doc["steps"]:
            assert set(step) <= STEP_KEYS, f"the runner does not implement {set(step) - STEP_KEYS}"
        values = {name: str(builtins[name]) for name in builtins}
        declared = {**(doc.get("substitutions") or {}), **overrides}
        for name, value in declared.items():
            assert name.startswith("_") or name in BUILTINS, f"bad substitution name {name}"
            values[name] = str(value)
        build = cls(list(doc["steps"]), values)
        if options.get("dynamicSubstitutions"):
            build.values = build._expanded_values()
        build.images = [build.substitute(image) for image in doc.get("images", [])]
        build.timeout = duration(doc.get("timeout", f"{DEFAULT_TIMEOUT:g}s"))
        return build

    def _expanded_values(self) -> dict[str, str]:
        """Dynamic substitutions: values may name other substitutions (bash-style)."""
        values = dict(self.values)
        for _ in range(len(values) + 1):
            changed = {name: self._expand(value, values) for name, value in values.items()}
            if changed == values:
                return values
            values = changed
        raise AssertionError("substitutions refer to each other in a loop")

    @staticmethod
    def _expand(text: str, values: Mapping[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match[1] or match[2]
            return match[0] if name is None or name not in values else values[name]

        return _TOKEN.sub(one, text)

    def substitute(self, text: str) -> str:
        """``$$`` → ``$``; ``${NAME}``/``$NAME`` → its value; unknown names are errors."""

        def one(match: re.Match[str]) -> str:
            if match[0] == "$$":
                return "$"
            name = match[1] or match[2]
            if name not in self.values:
                raise KeyError(f"unknown substitution ${name} (write $$ for a shell $)")
            return self.values[name]

        return _TOKEN.sub(one, text)

    def argv(self, step: Mapping[str, Any]) -> list[str]:
        name = self.substitute(step["name"])
        entrypoint = step.get("entrypoint")
        if entrypoint is None:
            entrypoint = {**DEFAULT_ENTRYPOINTS, **self.default_entrypoints}.get(name)
            assert entrypoint, f"no default entrypoint known for builder {name}"
        return [self.substitute(entrypoint), *(self.substitute(a) for a in step.get("args", []))]

    def run(
        self, workspace: Path, env: Mapping[str, str], *, timeout: float = 300
    ) -> list[StepResult]:
        """Every step in order until one fails; ``/workspace`` is ``workspace``. A step may
        take ``timeout`` seconds and what is left of the build's (``TimeoutExpired``)."""
        results: list[StepResult] = []
        workspace.chmod(0o755)
        ends = time.monotonic() + self.timeout
        for step in self.steps:
            argv = [a.replace("/workspace", str(workspace)) for a in self.argv(step)]
            argv = self._as_user(self.substitute(step["name"])) + argv
            started = time.monotonic()
            limit = max(0.0, min(timeout, ends - started))
            code = subprocess.run(argv, cwd=workspace, env=dict(env), timeout=limit).returncode
            results.append(StepResult(step.get("id", ""), argv, code, time.monotonic() - started))
            if code != 0:
                break
        return results

    def _as_user(self, image: str) -> list[str]:
        user = self.users.get(image)
        if user is None:
            return []
        assert os.geteuid() == 0, "running a step as its image's user needs root"
        uid, _, gid = user.partition(":")
        caps = "+dac_read_search"
        return ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups",
                f"--inh-caps={caps}", f"--ambient-caps={caps}"]  # fmt: skip


def duration(text: str) -> float:
    """Cloud Build's duration format: seconds with an ``s`` ("1800s", "3.5s").

    >>> duration("1800s")
    1800.0
    """
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?s", text), f"not a Cloud Build duration: {text!r}"
    return float(text[:-1])
