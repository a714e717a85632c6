#!/usr/bin/env python3
"""Where an embedded decision's CPU goes: per step, per policy package, per input path.

The embedded engine's ``Engine.evaluate`` is two steps: gate_regorus's
``eval_rule_document("data.gate.main.decision", document)`` (the document converted to
regorus values, the evaluation, the value returned as Python objects) and
``Decision.from_rego``. This measures both on bench/eval.py's documents (0, 100, 1,000
and 10,000 findings), as median CPU, beside the JSON text path (``json.dumps``, regorus's
parser and pretty JSON, ``json.loads``) that gate used before; then the input alone both
ways; then what each policy package adds to ``eval_rule`` (the packages added one by one to an
engine holding gate.main and the libraries); then whether threads evaluate in parallel
(one regorus engine per thread, as the webhook's pool has: decisions per second with 1 and
2 threads, and the process's CPU over wall time).

    python bench/decision_costs.py                      # about a minute
    python bench/decision_costs.py --policies /work/main/policies --sizes 0 1000

Other work on the machine inflates wall time, not CPU time; the figures are CPU time
(``time.process_time``), best or median of several runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import gate_regorus  # noqa: E402

from bench.eval import SIZES, document  # noqa: E402
from gate.policy.embedded import build_interpreter, build_regorus, decision_modules  # noqa: E402
from gate.policy.interface import Decision, Scope  # noqa: E402
from gate.policy.loader import (  # noqa: E402
    POLICY_PREFIX,
    PolicyModule,
    PolicySet,
    default_policy_dir,
    load_policy_set,
)

QUERY = "data.gate.main.decision"
clock = time.process_time


def runs(size: int) -> int:
    return 400 if size <= 100 else 100 if size <= 1_000 else 10


def steps(engine: Any, docs: dict[int, dict[str, Any]]) -> None:
    """gate_regorus's two paths on the same engine, alternately: the document converted
    directly and the value returned as Python objects (what gate runs), and the JSON text
    path (``json.dumps``, regorus's parser, ``eval_rule``, its pretty JSON, ``json.loads``)."""
    print("per step, gate_regorus, the two paths alternately (median CPU ms):")
    print(
        f"{'findings':>9} {'direct':>8} {'dumps':>8} {'eval_json':>9} {'loads':>8}"
        f" {'json path':>9} {'decision':>9}"
    )
    for size, doc in docs.items():
        times: list[tuple[float, ...]] = []
        for i in range(runs(size) + 3):
            a = clock()
            raw = engine.eval_rule_document(QUERY, doc)
            b = clock()
            text = json.dumps(doc)
            c = clock()
            out = engine.eval_rule(QUERY, text)
            d = clock()
            json.loads(out)
            e = clock()
            Decision.from_rego(raw, entry_point="attest", engine="embedded")
            f = clock()
            if i >= 3:  # warm-up
                times.append((b - a, c - b, d - c, e - d, e - b, f - e))
        cells = [statistics.median(column) * 1e3 for column in zip(*times, strict=True)]
        print(f"{size:>9,} " + " ".join(f"{c:8.3f} " for c in cells))


def input_paths(docs: dict[int, dict[str, Any]]) -> None:
    """The input alone: a rule that reads nothing, on the document converted directly
    and on its JSON text, alternately."""
    print("\ninput: direct conversion vs json.dumps + regorus's parser (median CPU ms):")
    engine = gate_regorus.Engine()
    engine.add_policy("t.rego", "package t\n\nr := 1\n")
    for size, doc in docs.items():
        direct: list[float] = []
        as_json: list[float] = []
        for _ in range(runs(size) * 2):
            a = clock()
            engine.eval_rule_document("data.t.r", doc)
            b = clock()
            engine.eval_rule("data.t.r", json.dumps(doc))
            c = clock()
            direct.append(b - a)
            as_json.append(c - b)
        d, j = statistics.median(direct) * 1e3, statistics.median(as_json) * 1e3
        per = f", {d / size * 1e3:.2f} us per finding" if size else ""
        print(f"{size:>9,} findings: {d:8.3f} vs {j:8.3f}  (x{d / j:.2f}{per})")


def best_cpu(call: Callable[[], object], n: int) -> float:
    """The best of seven batches of ``n`` calls, per call (ms)."""
    for _ in range(10):
        call()
    best = float("inf")
    for _ in range(7):
        start = clock()
        for _ in range(n):
            call()
        best = min(best, (clock() - start) / n)
    return best * 1e3


def packages(policy_set: PolicySet, docs: dict[int, dict[str, Any]]) -> None:
    sizes = [s for s in docs if s <= 1_000]
    texts = {size: json.dumps(docs[size]) for size in sizes}

    def cost(modules: Sequence[PolicyModule], size: int) -> float:
        engine = build_regorus(policy_set, modules=modules)
        engine.set_input_json(texts[size])
        return best_cpu(lambda: engine.eval_rule(QUERY), 400 if size <= 100 else 40)

    modules = decision_modules(policy_set, Scope.FULL)
    have = [m for m in modules if not m.package.startswith(POLICY_PREFIX)]
    print("\neval_rule as policy packages are added (best CPU ms, the same input each run):")
    print(f"{'':<42}" + "".join(f"{f'{s:,} findings':>22}" for s in sizes))
    before = {size: cost(have, size) for size in sizes}
    print(f"{'gate.main and the libraries':<42}" + "".join(f"{before[s]:>22.3f}" for s in sizes))
    for module in modules:
        if not module.package.startswith(POLICY_PREFIX):
            continue
        have.append(module)
        now = {size: cost(have, size) for size in sizes}
        cells = "".join(f"{f'{now[s]:.3f} (+{now[s] - before[s]:.3f})':>22}" for s in sizes)
        print(f"+ {module.package:<40}{cells}")
        before = now


def threads(policy_set: PolicySet, doc: dict[str, Any], seconds: float = 3.0) -> None:
    """Decisions per second on 1 and 2 threads, each with its own engine (as the pool's),
    on gate's binding (gate_regorus) and regorus's own."""
    print("\nthreads (0 findings; each thread its own engine, as the webhook's pool):")
    modules = decision_modules(policy_set, Scope.FULL)

    def work(binding: str, counts: list[int], until: float) -> None:
        engine = build_interpreter(policy_set, modules, binding)
        done = 0
        while time.monotonic() < until:
            engine.evaluate(QUERY, doc)
            done += 1
        counts.append(done)

    for binding in ("gate_regorus", "regorus"):
        for count in (1, 2):
            counts: list[int] = []
            until = time.monotonic() + seconds
            workers = [
                threading.Thread(target=work, args=(binding, counts, until)) for _ in range(count)
            ]
            cpu, wall = clock(), time.monotonic()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            cpu, wall = clock() - cpu, time.monotonic() - wall
            print(
                f"  {binding:<13} {count} thread(s): {sum(counts) / wall:7.0f} decisions/s, "
                f"CPU/wall {cpu / wall:.2f}"
            )


def native_engine(policy_set: PolicySet) -> Any:
    """gate_regorus's own engine loaded for a full decision: the benches need its raw
    ``eval_rule`` and ``eval_rule_document``, which the Interpreter wrapper does not expose."""
    engine = gate_regorus.Engine()
    for module in decision_modules(policy_set, Scope.FULL):
        engine.add_policy(module.path, module.source)
    engine.add_data_json(json.dumps(policy_set.data))
    return engine


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, default=default_policy_dir())
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--thread-seconds", type=float, default=3.0, help="per thread count")
    args = parser.parse_args(argv)
    policy_set = load_policy_set(args.policies)
    engine = native_engine(policy_set)
    docs = {size: document(size) for size in args.sizes}
    print(f"policies: {args.policies}\n")
    steps(engine, docs)
    input_paths(docs)
    packages(policy_set, docs)
    threads(policy_set, document(0), args.thread_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
