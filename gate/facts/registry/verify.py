"""Content checks: bytes hashed against the digest that named them, sizes bounded while read.

:func:`read_limited` streams a response body and stops as soon as it passes a limit (a
registry cannot make gate buffer a huge manifest); :func:`verify_digest` compares the
bytes with their digest. Both raise :class:`RegistryError`: a mismatch is never a warning.

    >>> data = b"{}"
    >>> digest = compute_digest(data)
    >>> digest
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
    >>> verify_digest(data, digest, "gcr.io", "p/app", "manifest")
    >>> verify_digest(b"[]", digest, "gcr.io", "p/app", "manifest")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gate.facts.registry.interface.RegistryError: gcr.io/p/app: manifest does not match its digest ...
"""

from __future__ import annotations

import hashlib
import hmac
import re

import requests
import urllib3.exceptions

from gate.facts.registry.interface import RegistryError

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024
# One image's configs, all platforms together, and the images one index may list: real
# multi-platform images have a dozen platforms of configs of a few kilobytes each.
MAX_IMAGE_CONFIG_BYTES = 16 * 1024 * 1024
MAX_INDEX_IMAGES = 128
CHUNK = 64 * 1024

_DIGEST_RE = re.compile(r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_DIGEST_HINT = "a digest is sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"


def check_digest(digest: str, registry: str, repository: str, what: str) -> str:
    """``digest`` if it is sha256/sha512 in canonical form; RegistryError otherwise."""
    if not _DIGEST_RE.fullmatch(digest):
        raise RegistryError(
            f"{registry}/{repository}: {what} has unsupported digest {digest[:80]!r}",
            hint=_DIGEST_HINT,
            registry=registry,
            repository=repository,
        )
    return digest


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data`` (sha256 or sha512)."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_digest(data: bytes, digest: str, registry: str, repository: str, what: str) -> None:
    """Raise RegistryError unless ``data`` hashes to ``digest``."""
    algorithm = check_digest(digest, registry, repository, what).partition(":")[0]
    actual = compute_digest(data, algorithm)
    if not hmac.compare_digest(actual, digest):
        raise RegistryError(
            f"{registry}/{repository}: {what} does not match its digest "
            f"(expected {digest}, got {actual})",
            hint="the registry (or something between gate and it) served altered content: "
            "do not trust this image; check the registry and any proxy in between",
            registry=registry,
            repository=repository,
        )


def read_limited(
    response: requests.Response, limit: int, registry: str, repository: str, what: str
) -> bytes:
    """The body of ``response``, refusing it as soon as it grows past ``limit`` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_big(int(declared), limit, registry, repository, what)
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.raw.stream(CHUNK, decode_content=False):  # bytes as served
            total += len(chunk)
            if total > limit:
                raise _too_big(total, limit, registry, repository, what, at_least=True)
            chunks.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise RegistryError(
            f"{registry}/{repository}: reading {what} failed: {type(exc).__name__}",
            hint="the connection broke or the deadline ran out while reading: check the "
            "registry's latency and the network",
            registry=registry,
            repository=repository,
        ) from exc
    finally:
        response.close()
    return b"".join(chunks)


def _too_big(
    size: int, limit: int, registry: str, repository: str, what: str, *, at_least: bool = False
) -> RegistryError:
    amount = f"more than {limit}" if at_least else str(size)
    return RegistryError(
        f"{registry}/{repository}: {what} is {amount} bytes, over gate's limit of {limit}",
        hint="real manifests and configs are far smaller: the image or the registry is "
        "broken or hostile; the limit is a registry client setting",
        registry=registry,
        repository=repository,
    )
