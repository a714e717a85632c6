#!/usr/bin/env python3
"""Attestations per second: a local PEM key against Cloud KMS over gRPC.

Starts one gRPC server on 127.0.0.1 itself (the test servicers: Cloud KMS with real keys,
Binary Authorization, Grafeas) and drives it through the real Google client libraries,
as ``gate attest`` would. For each signer it times

* ``sign``: build the payload and sign it (local: in-process; KMS: GetPublicKey once,
  then one AsymmetricSign RPC with CRC32C checks and a local verification per payload);
* ``attest``: the whole idempotent step for a new digest: list the image's attestations,
  sign, verify, CreateOccurrence (three RPCs with KMS, two with a local key);
* ``exists``: attest an image that is already attested: one list and one local verify.

and prints operations per second with p50 and p99 latencies. ``--threads N`` runs N
callers at once (one shared signer and client, as in one ``gate`` process). The test
Grafeas server scans every stored occurrence on each list, so ``attest`` slows as the
store grows to ``--count`` occurrences; ``exists`` runs on a store of one.

    python bench/attest.py                 # about 20 seconds
    python bench/attest.py --quick         # a second or two: CI smoke
    python bench/attest.py --algorithm RSA_SIGN_PSS_3072_SHA256 --threads 4
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from gate.attest.payload import build_payload  # noqa: E402
from gate.attest.signers.interface import Signer  # noqa: E402
from gate.attest.signers.local import LocalKeySigner  # noqa: E402
from gate.reference import ImageRef, parse_reference  # noqa: E402
from tests.integration.attest_env import GoogleApis, google_apis  # noqa: E402
from tests.integration.kms_server import generate  # noqa: E402

IMAGE = "us-docker.pkg.dev/bench/apps/api"


def digests() -> Callable[[], ImageRef]:
    """A new, distinct image digest per call (thread-safe)."""
    counter = itertools.count()
    lock = threading.Lock()

    def next_ref() -> ImageRef:
        with lock:
            n = next(counter)
        return parse_reference(f"{IMAGE}@sha256:{n:064x}")

    return next_ref


def timed(operation: Callable[[], object], count: int, threads: int) -> list[float]:
    def one(_: int) -> float:
        started = time.perf_counter()
        operation()
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=threads) as pool:
        wall = time.perf_counter()
        latencies = list(pool.map(one, range(count)))
        wall = time.perf_counter() - wall
    latencies.append(wall)  # the last item is the wall-clock time of the whole run
    return latencies


def report(label: str, samples: list[float]) -> str:
    wall, latencies = samples[-1], sorted(samples[:-1])
    rate = len(latencies) / wall
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return f"{label:<24} {rate:>10.1f}/s {p50:>9.2f} ms {p99:>9.2f} ms"


def bench_signer(
    apis: GoogleApis, name: str, signer: Signer, count: int, threads: int
) -> list[str]:
    apis.binauthz.attestors.clear()
    apis.attestor_for(signer)
    attestations = apis.attestations()
    next_ref = digests()
    payload = build_payload(next_ref())
    signer.sign(payload)  # warm up: public key, channel
    attested = next_ref()
    attestations.attest(attested, signer)
    rows = [
        report(
            f"{name} sign", timed(lambda: signer.sign(build_payload(next_ref())), count, threads)
        ),
        report(
            f"{name} attest", timed(lambda: attestations.attest(next_ref(), signer), count, threads)
        ),
        report(
            f"{name} exists", timed(lambda: attestations.attest(attested, signer), count, threads)
        ),
    ]
    stored = len(apis.stored())
    expected = 1 + count  # the pre-attested image once, every new digest once
    if stored != expected:
        raise SystemExit(f"bench: {stored} attestations stored, expected {expected}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="operations per measurement")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--algorithm", default="EC_SIGN_P256_SHA256", help="key algorithm")
    parser.add_argument("--quick", action="store_true", help="20 operations each (CI smoke)")
    args = parser.parse_args(argv)
    count = 20 if args.quick else args.count
    print(f"{args.algorithm}, {count} operations per row, {args.threads} thread(s)")
    print(f"{'operation':<24} {'rate':>12} {'p50':>12} {'p99':>12}")
    with google_apis() as apis:
        local = LocalKeySigner(
            generate(args.algorithm),
            rsa_padding="pkcs1" if "PKCS1" in args.algorithm else "pss",
            hash_name=args.algorithm.rsplit("_", 1)[1].lower(),
        )
        for row in bench_signer(apis, "local key", local, count, args.threads):
            print(row, flush=True)
        apis.grafeas.occurrences.clear()
        with apis.kms_signer(args.algorithm) as kms:
            for row in bench_signer(apis, "Cloud KMS (gRPC)", kms, count, args.threads):
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
