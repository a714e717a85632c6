#!/usr/bin/env python3
"""Instructions per embedded decision, counted by valgrind's callgrind: a figure that does
not move with the machine's load, for comparing policy changes and for seeing what each
policy package costs.

Each measurement runs a child Python under ``valgrind --tool=callgrind`` that loads a
policy set into gate_regorus, as the embedded engine does for a full decision, and
evaluates bench/eval.py's document ``--decisions`` times. Only the instructions inside
``eval_rule_document`` are collected (the document's conversion, the evaluation and the
value's conversion back), so Python's start-up and the policy load do not count. Divided
by the number of decisions, a count repeats to within a few thousand instructions; CPU
time on a shared machine varies by 5-10% between runs.

    python bench/instructions.py                              # shipped policies
    python bench/instructions.py --policies old/ new/         # A/B, with the ratio
    python bench/instructions.py --packages                   # what each package adds
    python bench/instructions.py --sizes 0 100 --decisions 20

Needs valgrind (Debian package ``valgrind``); about 15 s per measurement.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from gate.policy.loader import POLICY_PREFIX, default_policy_dir, load_policy_set  # noqa: E402

COLLECT = "*__pymethod_eval_rule_document__*"
QUERY = "data.gate.main.decision"


def child(policies: Path, size: int, decisions: int) -> None:
    """The measured process: load ``policies`` and evaluate ``decisions`` times."""
    from bench.decision_costs import native_engine
    from bench.eval import document

    engine = native_engine(load_policy_set(policies))
    doc = document(size)
    for _ in range(5):  # warm-up (regular expressions compiled, buffers grown), not counted
        engine.eval_rule(QUERY, json.dumps(doc))
    for _ in range(decisions):
        engine.eval_rule_document(QUERY, doc)


def count(policies: Path, size: int, decisions: int) -> float:
    """Instructions per decision of ``policies`` on the document with ``size`` findings."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--collect-atstart=no",
            f"--toggle-collect={COLLECT}",
            sys.executable,
            __file__,
            "--child",
            str(policies),
            str(size),
            str(decisions),
        ]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"valgrind failed ({run.returncode}):\n{run.stderr[-2000:]}")
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        if not totals or int(totals[0].split()[1]) == 0:
            raise SystemExit(f"callgrind collected nothing inside {COLLECT}")
        return int(totals[0].split()[1]) / decisions


def emptied(policies: Path, relative: str, into: Path) -> Path:
    """A copy of ``policies`` in ``into`` whose module ``relative`` keeps only its
    METADATA and package line: the policy is in the catalog and has no rules."""
    shutil.copytree(policies, into)
    module = into / relative
    source = module.read_text()
    package = source.index("\npackage ")
    module.write_text(source[: source.index("\n", package + 1) + 1])
    return into


def compare(dirs: Sequence[Path], sizes: Sequence[int], decisions: int) -> None:
    """Each policy set on each document; the ratio to the first set."""
    for size in sizes:
        first = 0.0
        for index, policies in enumerate(dirs):
            per = count(policies, size, decisions)
            first = first or per
            label = f"{size:,} findings" if index == 0 else ""
            ratio = f"  x{per / first:.3f}" if index else ""
            print(f"  {label:<16}{str(policies)[-44:]:<46}{per / 1e3:>10,.0f} kIr{ratio}")


def packages(policies: Path, size: int, decisions: int) -> None:
    whole = count(policies, size, decisions)
    print(f"\nwhat each policy package adds ({size:,} findings; the package emptied):")
    print(f"  {'all packages':<36}{whole / 1e3:>10,.0f} kIr")
    modules = [
        m
        for m in load_policy_set(policies).policy_modules
        if m.package.startswith(POLICY_PREFIX) and not m.is_test
    ]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, module in enumerate(modules):
            copy = emptied(policies, module.path, Path(scratch) / str(index))
            rows.append((whole - count(copy, size, decisions), module.package))
    for added, package in sorted(rows, reverse=True):
        print(f"  {package:<36}{added / 1e3:>10,.0f} kIr  {added / whole:6.1%}")
    rest = whole - sum(added for added, _ in rows)
    print(f"  {'gate.main, libraries, the input':<36}{rest / 1e3:>10,.0f} kIr  {rest / whole:6.1%}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, nargs="+", default=[default_policy_dir()])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0])
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--packages", action="store_true", help="what each package adds")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    print("instructions per decision (callgrind, inside eval_rule_document):\n")
    compare(args.policies, args.sizes, args.decisions)
    if args.packages:
        packages(args.policies[0], args.sizes[0], args.decisions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
