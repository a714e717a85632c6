#!/usr/bin/env python3
"""AdmissionReviews over HTTPS: ``gate serve`` on the embedded engine beside ``gate serve``
asking a real OPA server, the same reviews and decisions, in one run.

    python bench/admission.py            # about 15 minutes on a 2-core machine
    python bench/admission.py --quick    # about 3 minutes (1,000 distinct images, short runs)

For each engine it starts ``gate serve`` (gunicorn, threaded workers, TLS from a test CA)
with trial facts that fit every image (the compliant sample with a clean scan inside), and
prints:

1. **throughput**: single-container Pod reviews, warm caches, closed loop at a fixed
   concurrency (wrk when installed, else a Python client): reviews/s, p50, p99, and the
   workers' CPU per review (a figure that holds on a busy machine, where rates do not);
2. **fixed rate**: 200 reviews/s, open loop, latency from each request's scheduled time;
3. **cold decisions**: the decision cache off (facts still cached): what the engine costs;
4. **containers per Pod** (1, 10, 50), warm;
5. **distinct images in the caches** (100 and 10,000), warm, one worker (decisions kept
   for an hour there, so that every image stays cached while the others warm up);
6. the resident memory of each worker (and of OPA).

Nothing is asserted: the figures depend on the machine and on what else runs on it (the
load average is printed at the start and the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.eval import find_opa  # noqa: E402
from bench.loadgen import Result, closed_loop, open_loop, run_wrk, wrk_binary  # noqa: E402
from tests.integration.opa_server import OpaServer  # noqa: E402
from tests.webhook.reviews import COMPLIANT, TAG_ONLY, review, workload  # noqa: E402
from tests.webhook.server import ServedGate, Tls, make_tls  # noqa: E402

ENGINES = ("embedded", "opa")
REPOSITORY = "us-docker.pkg.dev/gate-samples/apps/hello"


def trial_facts(folder: Path) -> Path:
    """The compliant sample, created yesterday, with a clean scan that names no digest."""
    metadata = json.loads((REPO / "samples" / "compliant-metadata.json").read_text())
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday
    metadata["vulnerabilities"] = {
        "source": "metadata",
        "scan": {"status": "FINISHED_SUCCESS", "detail": "bench"},
        "findings": [],
    }
    path = folder / "facts.json"
    path.write_text(json.dumps(metadata))
    return path


def pod(*images: str) -> bytes:
    return json.dumps(review(workload("Pod", *images))).encode()


def image(index: int) -> str:
    return f"{REPOSITORY}-{index}@sha256:{index:064x}"


def children(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def served(
    tls: Tls, facts: Path, engine: str, opa: OpaServer, workers: int, **env: str
) -> Iterator[ServedGate]:
    environment = {
        "GATE_ENGINE": engine,
        "GATE_OPA_URL": opa.url,
        "GATE_LOG_LEVEL": "WARNING",
        **env,
    }
    with ServedGate(tls, ["--metadata", str(facts)], env=environment, workers=workers) as gate:
        yield gate


def warm(
    gate: ServedGate, tls: Tls, bodies: Callable[[int], bytes], count: int, concurrency: int = 8
) -> float:
    """Send ``bodies(0..count-1)`` once each; the seconds it took."""
    started = time.monotonic()
    closed_loop(gate.port, tls.ca, bodies, concurrency=concurrency, seconds=1e9, total=count)
    return time.monotonic() - started


def decisions(gate: ServedGate) -> tuple[bool, bool]:
    allowed = gate.post(json.loads(pod(COMPLIANT))).json()["response"]["allowed"]
    denied = gate.post(json.loads(pod(TAG_ONLY))).json()["response"]["allowed"]
    return allowed, denied


def load(gate: ServedGate, tls: Tls, body: bytes, concurrency: int, seconds: float) -> Result:
    """One body at a fixed concurrency: wrk when installed, else the Python client."""
    if wrk_binary():
        return run_wrk(gate.port, body, concurrency=concurrency, seconds=seconds)
    return closed_loop(gate.port, tls.ca, lambda i: body, concurrency=concurrency, seconds=seconds)


def line(label: str, result: Result, extra: str = "") -> str:
    return (f"  {label:<34} {result.rate:8.0f}/s  p50 {result.p50_ms:7.2f} ms  "
            f"p99 {result.p99_ms:8.2f} ms  errors {result.errors}{extra}")  # fmt: skip


def measure(
    engine: str, tls: Tls, facts: Path, opa: OpaServer, args: argparse.Namespace
) -> dict[str, Result]:
    rows: dict[str, Result] = {}
    single = pod(COMPLIANT)
    print(f"\n== {engine}")
    with served(tls, facts, engine, opa, args.workers) as gate:
        print(
            f"  decisions: compliant allowed={decisions(gate)[0]}, tag-only allowed={decisions(gate)[1]}"
        )
        warm(gate, tls, lambda i: single, 400)
        pids = children(gate.process.pid)  # type: ignore[union-attr]
        before = cpu_seconds(pids)
        if wrk_binary():
            rows["throughput"] = run_wrk(
                gate.port, single, concurrency=args.concurrency, seconds=args.duration
            )
        else:
            rows["throughput"] = closed_loop(gate.port, tls.ca, lambda i: single,
                                             concurrency=args.concurrency, seconds=args.duration)  # fmt: skip
        cpu_ms = (cpu_seconds(pids) - before) / max(rows["throughput"].requests, 1) * 1000
        print(line(f"throughput ({'wrk' if wrk_binary() else 'python'}, c={args.concurrency})",
                   rows["throughput"], f"  server CPU {cpu_ms:.2f} ms/review"))  # fmt: skip
        rows["fixed"] = open_loop(gate.port, tls.ca, single, rate=args.rate, seconds=args.duration)
        print(line(f"fixed rate {args.rate:g}/s (open loop)", rows["fixed"]))
        for count in (1, 10, 50):
            body = pod(*[COMPLIANT] * count)
            warm(gate, tls, lambda i, b=body: b, 20, concurrency=4)
            rows[f"containers-{count}"] = load(gate, tls, body, 4, args.short)
            print(line(f"{count} container(s) per Pod (c=4)", rows[f"containers-{count}"]))
        memory = ", ".join(f"{rss_mb(pid):.0f} MB" for pid in pids)
        print(
            f"  worker RSS: {memory}"
            + (f"; OPA {rss_mb(opa.pid):.0f} MB" if engine == "opa" and opa.pid else "")
        )
    with served(tls, facts, engine, opa, args.workers, GATE_DECISION_CACHE_TTL="0") as gate:
        warm(gate, tls, lambda i: single, 20)
        rows["cold"] = closed_loop(
            gate.port, tls.ca, lambda i: single, concurrency=4, seconds=args.short
        )
        print(line("decision cache off (c=4)", rows["cold"]))
    with served(tls, facts, engine, opa, 1, GATE_DECISION_CACHE_TTL="3600") as gate:
        for count in args.images:
            took = warm(gate, tls, lambda i: pod(image(i)), count)
            rows[f"images-{count}"] = closed_loop(
                gate.port, tls.ca, lambda i, n=count: pod(image(random.randrange(n))),
                concurrency=4, seconds=args.short,
            )  # fmt: skip
            print(line(f"{count:,} distinct images, warm (1 worker)", rows[f"images-{count}"],
                       f"  (warming took {took:.0f} s: {count / took:.0f} cold reviews/s)"))  # fmt: skip
        print(
            f"  worker RSS with {max(args.images):,} images cached: {rss_mb(children(gate.process.pid)[0]):.0f} MB"
        )  # type: ignore[union-attr]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 1,000 distinct images")
    parser.add_argument("--duration", type=float, help="seconds per rate measurement (10)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--opa", help="path of the opa binary")
    args = parser.parse_args()
    args.duration = args.duration or (4.0 if args.quick else 10.0)
    args.short = 3.0 if args.quick else 5.0
    args.images = (100, 1_000) if args.quick else (100, 10_000)
    print(
        f"load average {os.getloadavg()}; {os.cpu_count()} CPUs; wrk: {wrk_binary() or 'not installed'}"
    )
    results: dict[str, dict[str, Result]] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        OpaServer(find_opa(args.opa), Path(folder)) as opa,
    ):
        tls = make_tls(Path(folder))
        facts = trial_facts(Path(folder))
        for engine in ENGINES:
            results[engine] = measure(engine, tls, facts, opa, args)
    print("\n== OPA / embedded")
    for key in results["embedded"]:
        emb, opa_row = results["embedded"][key], results["opa"][key]
        print(f"  {key:<16} rate {opa_row.rate / max(emb.rate, 1e-9):5.2f}x   "
              f"p99 {opa_row.p99_ms / max(emb.p99_ms, 1e-9):5.2f}x")  # fmt: skip
    print(f"\nload average now {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
