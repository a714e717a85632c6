"""Stand-ins for the two builder CLIs a Cloud Build file calls that cannot run here.

No Docker daemon and no Cloud Storage are available to the tests, so ``docker`` and
``gcloud`` on a build's ``PATH`` are these (:func:`install` writes the wrappers):

- ``docker build --tag REF DIR``: an image config from ``DIR/Dockerfile`` (``FROM
  scratch``, then ``USER``, ``LABEL k=v…``, ``ENV k=v…``; anything else is refused),
  created now, plus one layer; kept under ``REF`` in the state folder.
- ``docker push REF``: pushes that image (config, layer, Docker v2 manifest) to the real
  registry in REF over the Distribution API and prints what ``docker push`` prints, ending
  with ``TAG: digest: sha256:… size: N``, the digest the registry stored.
- ``gcloud storage cp SRC gs://BUCKET/PATH``: copies into ``STATE/gcs/BUCKET/PATH``
  (:func:`stored` finds it).
- ``gcloud auth print-identity-token --audiences=AUD [--include-email]``: an RS256 ID
  token for AUD, as the metadata server mints one for the build's service account:
  signed with the key :func:`grant_identity` gave the build (a test issuer's, published
  in its JWKS), with ``email`` and ``email_verified`` only when ``--include-email`` is
  given.

Any other command exits 9, so a build file that changes what it asks of them fails.

    >>> parse_dockerfile("FROM scratch\\nUSER 65532\\nLABEL a=b c=d\\n")["config"]["User"]
    '65532'
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.integration.oci_push import Pusher, canonical, push_image

STATE_ENV = "GATE_TEST_STANDIN_STATE"


def install(bin_dir: Path, state: Path) -> dict[str, str]:
    """Write ``docker`` and ``gcloud`` wrappers into ``bin_dir``; the env they need."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("docker", "gcloud"):
        wrapper = bin_dir / tool
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m {__name__} {tool} "$@"\n'
        )
        wrapper.chmod(0o755)
    return {STATE_ENV: str(state), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def parse_dockerfile(text: str) -> dict[str, Any]:
    config: dict[str, Any] = {"User": "", "Env": ["PATH=/usr/bin"], "Labels": {}, "Cmd": ["/app"]}
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    if not lines or lines[0] != "FROM scratch":
        raise SystemExit("the docker stand-in builds FROM scratch only")
    for line in lines[1:]:
        instruction, _, rest = line.partition(" ")
        if instruction == "USER":
            config["User"] = rest.strip()
        elif instruction == "LABEL":
            config["Labels"].update(pair.split("=", 1) for pair in shlex.split(rest))
        elif instruction == "ENV":
            config["Env"] += shlex.split(rest)
        else:
            raise SystemExit(f"the docker stand-in does not implement {instruction}")
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "COPY app /app", "created": created}],
    }


def _image_file(state: Path, ref: str) -> Path:
    return state / "images" / ref.replace("/", "_").replace(":", "_")


def docker(args: list[str], state: Path) -> int:
    if args[:2] == ["build", "--tag"] and len(args) == 4:
        ref, context = args[2], Path(args[3])
        config = parse_dockerfile((context / "Dockerfile").read_text())
        target = _image_file(state, ref)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(canonical(config))
        print(f"Successfully tagged {ref}")
        return 0
    if args[:1] == ["push"] and len(args) == 2:
        ref = args[1]
        host, _, rest = ref.partition("/")
        repository, _, tag = rest.rpartition(":")
        config = _image_file(state, ref).read_bytes()
        print(f"The push refers to repository [{host}/{repository}]")
        pushed = push_image(Pusher(f"http://{host}"), repository, config, tag=tag, docker=True)
        print(f"{tag}: digest: {pushed.digest} size: {pushed.size}")
        return 0
    print(f"docker stand-in: not implemented: {args}", file=sys.stderr)
    return 9


def grant_identity(state: Path, *, email: str, key_pem: bytes, kid: str, issuer: str) -> None:
    """The build's service account: ``email``, its ID tokens signed by ``key_pem`` (``kid``)
    and issued by ``issuer``."""
    state.mkdir(parents=True, exist_ok=True)
    identity = {"email": email, "key": key_pem.decode(), "kid": kid, "issuer": issuer}
    (state / "identity.json").write_text(json.dumps(identity))


def stored(state: Path, url: str) -> Path:
    """Where ``gcloud storage cp`` put ``gs://BUCKET/PATH``."""
    assert url.startswith("gs://"), url
    return state / "gcs" / url.removeprefix("gs://")


def identity_token(flags: list[str], state: Path) -> int:
    audiences = [flag.partition("=")[2] for flag in flags if flag.startswith("--audiences=")]
    include_email = "--include-email" in flags
    if len(audiences) != 1 or len(flags) != 1 + include_email:
        print(f"gcloud stand-in: not implemented: print-identity-token {flags}", file=sys.stderr)
        return 9
    import jwt  # PyJWT, as the test issuer

    identity = json.loads((state / "identity.json").read_text())
    now = int(time.time())
    claims = {"iss": identity["issuer"], "aud": audiences[0], "azp": "1122334455",
              "sub": "1122334455", "iat": now, "exp": now + 3600}  # fmt: skip
    if include_email:
        claims |= {"email": identity["email"], "email_verified": True}
    headers = {"kid": identity["kid"]}
    print(jwt.encode(claims, identity["key"], algorithm="RS256", headers=headers))
    return 0


def gcloud(args: list[str], state: Path) -> int:
    if args[:2] == ["auth", "print-identity-token"]:
        return identity_token(args[2:], state)
    if args[:2] == ["storage", "cp"] and len(args) == 4 and args[3].startswith("gs://"):
        target = stored(state, args[3])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args[2], target)
        print(f"Copying file://{args[2]} to {args[3]}")
        return 0
    print(f"gcloud stand-in: not implemented: {args}", file=sys.stderr)
    return 9


def main(argv: list[str]) -> int:
    state = Path(os.environ[STATE_ENV])
    tool, args = argv[0], argv[1:]
    return docker(args, state) if tool == "docker" else gcloud(args, state)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
