"""Commands that do not use OPA do not load its client (opa-python-client pulls in aiohttp:
most of gate's start-up before). Timings are in the commit that made it lazy; this checks
what is imported, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("opa_client", "aiohttp", "gate.policy.opa")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    (last,) = [line for line in done.stdout.splitlines() if line.startswith("loaded:")]
    return set(last.split()[1:])


@pytest.mark.parametrize(
    "code",
    [
        "import gate.cli",
        "from gate.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from gate.config import Settings\nfrom gate.policy.engines import create_engine\n"
        "create_engine(Settings())",
        "from gate.cli import main\nmain(['policies'])",
    ],
)
def test_the_embedded_paths_do_not_load_the_opa_client(code: str) -> None:
    assert loaded_after(code) == set()


def test_an_opa_engine_loads_it() -> None:
    code = (
        "from gate.config import Settings\nfrom gate.policy.engines import create_engine\n"
        "create_engine(Settings(engine='opa', opa_push_policies=False))"
    )
    assert loaded_after(code) == set(HEAVY)
