"""Shared test fixtures.

Missing tools or data skip a test on a developer's machine and fail it in CI
(``CI=true``): a CI run must never pass by skipping what it was meant to check.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, why: str) -> None:
    """Skip (outside CI) or fail (in CI) when a test's precondition is missing."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {why}", pytrace=False)
    pytest.skip(why)


def require_module(name: str) -> ModuleType:
    """The module ``name`` (a test dependency in requirements-dev.txt); skip (outside CI,
    the whole module when called at import) or fail (in CI) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        why = f"{name} is not installed ({exc}; pip install -r requirements-dev.txt)"
        if in_ci():
            pytest.fail(f"required in CI: {why}", pytrace=False)
        pytest.skip(why, allow_module_level=True)


def require_tool(name: str, env_var: str | None = None) -> str:
    """Path of an executable from ``env_var`` or PATH (or ~/go/bin); skip or fail if absent."""
    candidates = [os.environ.get(env_var, "")] if env_var else []
    candidates += [shutil.which(name) or "", str(Path.home() / "go" / "bin" / name)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    require(False, f"{name} is not installed (run scripts/test.sh, which installs it)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real-world fixtures (GATE_FIXTURES, default ../shared/fixtures)."""
    path = Path(os.environ.get("GATE_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))
    require(path.is_dir(), f"fixtures folder {path} not found (set GATE_FIXTURES)")
    return path


@pytest.fixture(scope="session")
def policies_dir() -> Path:
    return REPO_ROOT / "policies"
