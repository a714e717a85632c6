"""Benchmark: an image's registry facts, cold and warm, against a real local registry.

Starts Debian's docker-registry on 127.0.0.1 (and a token-auth one with its token
issuer), pushes a few images built in Python, then for each image prints a cold
evaluation (a new client: round trips and time) and a warm one (the same client again:
cache hits, no round trips for digest references).

    .venv/bin/python bench/facts.py [--repeat 5] [--registry /usr/bin/docker-registry]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gate.facts.registry import (
    Authenticator,
    ClientOptions,
    CredentialStore,
    Deadline,
    DockerConfig,
    RegistryClient,
    TransportOptions,
    fetch_platforms,
)
from gate.reference import ImageRef, parse_reference
from tests.integration.oci_push import Pusher, image_config, push_image, push_index
from tests.integration.registry_server import RegistryServer
from tests.integration.token_issuer import TokenIssuer

USER = ("bench", "bench-password")


def images(server: RegistryServer, credentials: tuple[str, str] | None) -> dict[str, str]:
    """Push the benchmark images; name → reference."""
    pusher, host = Pusher(server.url, credentials), server.host
    single = push_image(pusher, "bench/single", image_config(user="1000"), tag="1")
    docker = [
        (push_image(pusher, "bench/docker", image_config(architecture=a), docker=True), p)
        for a, p in (
            ("amd64", {"os": "linux", "architecture": "amd64"}),
            ("arm64", {"os": "linux", "architecture": "arm64"}),
        )
    ]
    push_index(pusher, "bench/docker", docker, tag="1", docker=True)
    platforms = [("amd64", ""), ("arm64", "v8"), ("arm", "v7"), ("ppc64le", ""), ("s390x", "")]
    pushed = [
        (
            push_image(pusher, "bench/multi", image_config(user="root", architecture=a, variant=v)),
            {"os": "linux", "architecture": a, **({"variant": v} if v else {})},
        )
        for a, v in platforms
    ]
    index = push_index(pusher, "bench/multi", pushed, tag="1", attestation_for=pushed[0][0])
    return {
        "single OCI manifest (tag)": f"{host}/bench/single:1",
        "single OCI manifest (digest)": f"{host}/bench/single@{single.digest}",
        "Docker manifest list, 2 platforms (tag)": f"{host}/bench/docker:1",
        "OCI index, 5 platforms + attestation (digest)": f"{host}/bench/multi@{index.digest}",
    }


def client_factory(server: RegistryServer, workdir: Path) -> Callable[[], RegistryClient]:
    hosts = (server.host, *([server.issuer.host] if server.issuer else []))
    options = ClientOptions(
        approved=(f"{server.host}/**",),
        transport=TransportOptions(insecure_hosts=hosts),
        token_hosts=hosts,
    )
    config = workdir / "docker-config.json"
    config.write_text(
        f'{{"auths": {{"{server.host}": {{"username": "{USER[0]}", "password": "{USER[1]}"}}}}}}'
    )

    def make() -> RegistryClient:
        auth = Authenticator(CredentialStore(DockerConfig.load(config)))
        return RegistryClient(options, auth=auth)

    return make


def measure(client: RegistryClient, ref: ImageRef) -> tuple[float, dict[str, int]]:
    before = client.stats()
    started = time.perf_counter()
    fetch_platforms(client, ref, Deadline.after(30))
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, {key: value - before[key] for key, value in client.stats().items()}


def report(label: str, server: RegistryServer, workdir: Path, repeat: int) -> None:
    credentials = USER if server.issuer else None
    make = client_factory(server, workdir)
    print(f"\n{label}")
    print(f"  {'image':<48} {'run':<5} {'ms (median)':>11} {'round trips':>12} {'hits':>5}")
    for name, text in images(server, credentials).items():
        ref = parse_reference(text)
        for kind in ("cold", "warm"):
            times: list[float] = []
            counts: dict[str, int] = {}
            for _ in range(repeat):
                client = make()
                if kind == "warm":
                    measure(client, ref)
                elapsed, counts = measure(client, ref)
                times.append(elapsed)
            print(
                f"  {name:<48} {kind:<5} {statistics.median(times):>11.2f} "
                f"{counts['round_trips']:>12} {counts['cache_hits'] + counts['tag_hits']:>5}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--registry", default=shutil.which("docker-registry") or "")
    args = parser.parse_args()
    if not args.registry:
        print("docker-registry not found: run scripts/ci-deps.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        workdir = Path(tmp)
        with RegistryServer(args.registry, workdir / "plain") as plain:
            report("anonymous registry (docker-registry on 127.0.0.1)", plain, workdir, args.repeat)
        issuer = TokenIssuer(workdir / "token", {USER[0]: USER[1]}).start()
        try:
            with RegistryServer(args.registry, workdir / "token", issuer=issuer) as tokened:
                report(
                    "token-auth registry (Bearer challenge + token issuer)",
                    tokened,
                    workdir,
                    args.repeat,
                )
        finally:
            issuer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
