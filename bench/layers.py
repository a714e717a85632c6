#!/usr/bin/env python3
"""Where a served review's CPU goes, layer by layer, beside OPA's own HTTPS server.

    python bench/layers.py                          # about 1.5 minutes
    python bench/layers.py --seconds 0.5 --rounds 1  # a smoke run

The same AdmissionReview (a Pod of one image) is posted over one keep-alive HTTPS
connection at a time (bench/loadgen.py's client, concurrency 1) to each server below, in
rounds, and each server's CPU per request is read from /proc (median of the rounds):

1. hypercorn on uvloop, with gate's hypercorn settings and a bare ASGI app that reads the
   body and answers 200: the HTTP and TLS floor of the library gate serves with;
2. ``gate serve`` (gunicorn, gate's worker, bridge and thread pool) with a bare Flask app
   that parses the review and allows it: gate's server before any of its checks;
3. ``gate serve``, the decision cached (a warm review);
4. ``gate serve``, decision cache off, facts cached: one policy evaluation per review;
5. peer: OPA's server (Go, TLS) answering a one-line policy with the review as input.

Each row also gives what it adds over the row before. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.admission import cpu_seconds, pod, served, trial_facts  # noqa: E402
from bench.eval import find_opa  # noqa: E402
from bench.loadgen import Result, closed_loop  # noqa: E402
from tests.integration.opa_server import OpaServer, TlsFiles  # noqa: E402
from tests.webhook.reviews import COMPLIANT  # noqa: E402
from tests.webhook.server import ServedGate, Tls, child_pids, make_tls  # noqa: E402

OPA_POLICY = 'package layers\n\nanswer := {"uid": input.request.uid, "allowed": true}\n'
OPA_PATH = "/v1/data/layers/answer"
LAYERS = (
    "hypercorn + uvloop, bare ASGI app",
    "gate serve, bare Flask app",
    "gate serve, decision cached",
    "gate serve, decision cache off",
    "peer: OPA server, one-line policy",
)


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def bare_flask(settings: Any) -> Any:
    """What gate serve runs without any of gate's checks: the review parsed, allowed."""
    from flask import Flask, request

    app = Flask("bare")

    @app.post("/validate")
    def validate() -> dict[str, Any]:
        uid = request.get_json()["request"]["uid"]
        response = {"uid": uid, "allowed": True}
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        }

    @app.get("/readyz")
    def ready() -> str:
        return "ok"

    return app


def run_server(mode: str, argv: list[str]) -> int:
    """The two servers this script starts itself, with ``gate serve``'s four flags."""
    import uvloop
    from hypercorn.asyncio import serve as hypercorn_serve

    from gate.config import Settings
    from gate.webhook.serve import serve
    from gate.webhook.worker import hypercorn_config

    parser = argparse.ArgumentParser()
    for flag in ("--bind", "--workers", "--tls-cert", "--tls-key"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if mode == "bare-gate":
        webhook = replace(
            settings.webhook,
            bind=args.bind,
            workers=int(args.workers),
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
        return serve(settings.with_changes(webhook=webhook.validated()), factory=bare_flask)
    config = hypercorn_config(settings)
    config.bind, config.certfile, config.keyfile = [args.bind], args.tls_cert, args.tls_key
    uvloop.run(hypercorn_serve(bare_asgi, config, mode="asgi"))  # type: ignore[arg-type]
    return 0


def own_server(tls: Tls, mode: str) -> ServedGate:
    return ServedGate(tls, workers=1, command=[sys.executable, __file__, mode])


@contextmanager
def opa_peer(opa: str, tls: Tls, folder: Path) -> Iterator[OpaServer]:
    with OpaServer(opa, folder, tls=TlsFiles(tls.cert, tls.key, tls.ca)) as server:
        put = urllib.request.Request(
            f"{server.url}/v1/policies/layers", OPA_POLICY.encode(), method="PUT"
        )
        context = ssl.create_default_context(cafile=str(tls.ca))
        with urllib.request.urlopen(put, context=context, timeout=10) as reply:
            assert reply.status == 200, reply.read()
        yield server


@dataclass(frozen=True)
class Target:
    port: int
    pids: list[int]  # the server's processes, whose CPU is read
    body: bytes
    path: str


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("asgi-floor", "bare-gate"):
        return run_server(sys.argv[1], sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per layer and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--opa", help="path of the opa binary")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}; {os.cpu_count()} CPUs")
    review = json.loads(pod(COMPLIANT))
    body, opa_body = json.dumps(review).encode(), json.dumps({"input": review}).encode()
    with tempfile.TemporaryDirectory() as name, ExitStack() as stack:
        folder = Path(name)
        tls, facts = make_tls(folder), trial_facts(folder)
        peer = stack.enter_context(opa_peer(find_opa(args.opa), tls, folder))
        servers = [
            stack.enter_context(own_server(tls, "asgi-floor")),
            stack.enter_context(own_server(tls, "bare-gate")),
            stack.enter_context(served(tls, facts, "embedded", peer, 1)),
            stack.enter_context(
                served(tls, facts, "embedded", peer, 1, GATE_DECISION_CACHE_TTL="0")
            ),
        ]
        targets = [Target(s.port, [s.pid, *child_pids(s.pid)], body, "/validate") for s in servers]
        assert peer.pid is not None
        targets.append(Target(peer.port, [peer.pid], opa_body, OPA_PATH))
        cpu, p50 = run_rounds(targets, tls.ca, args.rounds, args.seconds)
    report(cpu, p50)
    print(f"load average {os.getloadavg()}")
    return 0


def run_rounds(
    targets: list[Target], ca: Path, rounds: int, seconds: float
) -> tuple[list[list[float]], list[list[float]]]:
    """Each target warmed, then measured once per round: CPU and p50 per round, by layer."""
    cpu: list[list[float]] = [[] for _ in targets]
    p50: list[list[float]] = [[] for _ in targets]
    for target in targets:  # connections, caches, the engines' first evaluation
        measure(target, ca, 1.0)
    for _ in range(rounds):
        for layer, target in enumerate(targets):
            spent, result = measure(target, ca, seconds)
            cpu[layer].append(spent)
            p50[layer].append(result.p50_ms)
    return cpu, p50


def measure(target: Target, ca: Path, seconds: float) -> tuple[float, Result]:
    """The server's CPU per request (ms) and the client's figures, over ``seconds``."""
    spent = cpu_seconds(target.pids)
    result = closed_loop(
        target.port, ca, lambda i: target.body, concurrency=1, seconds=seconds, path=target.path
    )
    return (cpu_seconds(target.pids) - spent) / max(result.requests, 1) * 1000, result


def report(rounds_cpu: list[list[float]], rounds_p50: list[list[float]]) -> None:
    """Medians of the rounds, the range of the CPU figures, and the shares of layer 4."""
    cpu = [statistics.median(values) for values in rounds_cpu]
    p50 = [statistics.median(values) for values in rounds_p50]
    print(f"{'layer':<40} {'server CPU ms/req':>18} {'rounds':>13} {'adds':>7} {'p50 ms':>7}")
    for layer, name in enumerate(LAYERS):
        spread = f"{min(rounds_cpu[layer]):.2f}-{max(rounds_cpu[layer]):.2f}"
        adds = f"{cpu[layer] - cpu[layer - 1]:+7.3f}" if 0 < layer < 4 else " " * 7
        print(f"{layer + 1}. {name:<37} {cpu[layer]:18.3f} {spread:>13} {adds} {p50[layer]:7.2f}")
    review = cpu[3]
    print(f"\nof a review with one evaluation ({review:.3f} ms of server CPU):")
    shares = {
        "HTTP and TLS (1)": cpu[0],
        "gate's server, bridge and Flask (2 - 1)": cpu[1] - cpu[0],
        "gate's admission code (3 - 2)": cpu[2] - cpu[1],
        "the policy evaluation (4 - 3)": cpu[3] - cpu[2],
    }
    for what, spent in shares.items():
        print(f"  {what:<42} {spent:7.3f} ms  {100 * spent / review:5.1f}%")
    print(f"  OPA's server answers its one-line policy for {cpu[4]:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
