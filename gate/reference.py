"""Docker/OCI image references and the registry name patterns that policies match.

:func:`parse_reference` implements the grammar of github.com/distribution/reference
and normalises Docker Hub names; every invalid input raises
:class:`~gate.errors.InvalidReference` with a hint. :func:`match_pattern` matches
Binary Authorization-style name patterns (``*`` within one path segment, ``**`` across
segments) exactly as Rego's ``glob.match(pattern, ["/"], name)`` does.

    >>> ref = parse_reference("nginx:1.27")
    >>> ref.name, ref.tag, str(ref)
    ('docker.io/library/nginx', '1.27', 'docker.io/library/nginx:1.27')
    >>> match_pattern("*.gcr.io/**", "eu.gcr.io/project/app")
    True
    >>> match_pattern("us-docker.pkg.dev/**", "us-docker.pkg.dev.evil.example/x")
    False
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gate.errors import InvalidReference

DOCKER_HUB = "docker.io"
NAME_MAX_LENGTH = 255
_DOCKER_HUB_ALIASES = frozenset({"index.docker.io", "registry-1.docker.io"})
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}

_HOST_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST_RE = re.compile(
    rf"(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
# Written out: Python's \w would accept non-ASCII letters, Go's (the grammar's) does not.
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}")

_PATH_HINT = "path components are lowercase letters and digits separated by '.', '_', '__' or '-'"
_TAG_HINT = "a tag is up to 128 of A-Z a-z 0-9 _ . - and does not start with '.' or '-'"
_DIGEST_HINT = "write the digest as sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
_HOST_HINT = "a registry host is letters, digits and inner '-' joined by '.', optionally :port"


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalised image reference; build it with :func:`parse_reference`."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None
    original: str

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def normalized(self) -> str:
        """``name[:tag][@digest]``; no implicit ``:latest`` is added."""
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.name}{tag}{digest}"

    def with_digest(self, digest: str) -> ImageRef:
        """The same image pinned to ``digest``; the tag and ``original`` are kept."""
        return replace(self, digest=_check_digest(digest))

    def to_input(self) -> dict[str, object]:
        """The ``reference`` object of the gate input document (input.schema.json)."""
        return {
            "original": self.original,
            "registry": self.registry,
            "repository": self.repository,
            "name": self.name,
            "tag": self.tag,
            "digest": self.digest,
            "normalized": self.normalized,
        }

    def __str__(self) -> str:
        return self.normalized


def parse_reference(text: str) -> ImageRef:
    """Parse ``[host[:port]/]path[:tag][@digest]``; raise InvalidReference if invalid."""
    if not isinstance(text, str):
        raise InvalidReference(
            f"image reference must be a string, not {type(text).__name__}",
            hint="pass the reference as text, e.g. 'gcr.io/project/app:1.0'",
        )
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ImageRef:
    """:func:`parse_reference` of a string, kept: the webhook parses an image's reference
    at each step of a review (pinning, the facts at hand, the evaluation), about 7 us each.
    Bounded (a reference is at most about 520 characters), and errors are not kept."""
    _check_characters(text, "image reference")
    if _IMAGE_ID_RE.fullmatch(text):
        hint = "reference an image by name and digest: name@sha256:<hex>"
        raise InvalidReference(f"'{text}' is an image ID, not a reference", hint=hint)
    rest, digest = _split_digest(text)
    name, tag = _split_tag(rest)
    registry, repository = _split_name(name)
    return ImageRef(registry, repository, tag, digest, text)


def _check_characters(text: str, what: str) -> None:
    if not text:
        raise InvalidReference(f"empty {what}", hint="write e.g. 'gcr.io/project/app:1.0'")
    # Printable ASCII holds no whitespace but the space: one pass of C for the usual case,
    # the loop below only to name what is wrong.
    if not (text.isascii() and text.isprintable() and " " not in text):
        _name_bad_character(text, what)
    if "://" in text:  # not echoed: a URL may carry credentials
        hint = "drop the scheme: write 'gcr.io/project/app', not 'https://gcr.io/...'"
        raise InvalidReference(f"{what} has a URL scheme ('://')", hint=hint)


def _name_bad_character(text: str, what: str) -> None:
    for at, char in enumerate(text):
        if not char.isascii():
            name = f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()
            hint = "names are plain ASCII; retype it: look-alike letters name other hosts"
            message = f"{what} has non-ASCII character {char!r} ({name}) at position {at}"
            raise InvalidReference(message, hint=hint)
        if char.isspace() or not char.isprintable():
            hint = "remove spaces, tabs and newlines (check for stray quoting)"
            message = f"{what} has whitespace or control character {char!r} at position {at}"
            raise InvalidReference(message, hint=hint)


def _split_digest(text: str) -> tuple[str, str | None]:
    at = text.find("@")
    if at < 0:
        return text, None
    if "/" in text[at:]:
        message = "image reference has '@' before the repository path (credentials?)"
        hint = "'@' only introduces a digest (name@sha256:<hex>); never put user:pass@ in it"
        raise InvalidReference(message, hint=hint)  # not echoed: it may hold a password
    if text.count("@") > 1:
        raise InvalidReference(f"'{text}' has more than one digest", hint=_DIGEST_HINT)
    if at == 0:
        raise InvalidReference(f"'{text}' has no repository name", hint="write name@digest")
    return text[:at], _check_digest(text[at + 1 :])


def _check_digest(digest: str) -> str:
    algorithm, colon, hex_ = digest.partition(":")
    if not colon:
        raise InvalidReference(f"digest '{digest}' is not algorithm:hex", hint=_DIGEST_HINT)
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidReference(f"unsupported digest algorithm '{algorithm}'", hint=_DIGEST_HINT)
    if not re.fullmatch(r"[0-9a-f]*", hex_):
        what = "uppercase hex" if re.fullmatch(r"[0-9a-fA-F]*", hex_) else "non-hex characters"
        raise InvalidReference(f"digest '{digest}' has {what}", hint=_DIGEST_HINT)
    if len(hex_) != expected:
        message = f"{algorithm} digest has {len(hex_)} hex characters, expected {expected}"
        raise InvalidReference(message, hint=_DIGEST_HINT)
    return digest


def _split_tag(text: str) -> tuple[str, str | None]:
    colon = text.rfind(":")
    if colon <= text.rfind("/"):  # a ':' before the last '/' is a registry port
        return text, None
    tag = text[colon + 1 :]
    if not tag:
        raise InvalidReference(f"'{text}' ends with ':' but has no tag", hint=_TAG_HINT)
    if len(tag) > 128:
        raise InvalidReference(f"tag is {len(tag)} characters, at most 128", hint=_TAG_HINT)
    if not _TAG_RE.fullmatch(tag):
        raise InvalidReference(f"invalid tag '{tag}'", hint=_TAG_HINT)
    return text[:colon], tag


def _split_name(name: str) -> tuple[str, str]:
    if not name:
        raise InvalidReference("missing repository name", hint="write e.g. 'gcr.io/project/app'")
    first, slash, remainder = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _HOST_RE.fullmatch(first):
            raise InvalidReference(f"invalid registry host '{first}'", hint=_HOST_HINT)
        registry, path = first.lower(), remainder
    else:
        registry, path = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
    components = path.split("/")
    for index, component in enumerate(components):
        _check_path_component(component, path, last=index == len(components) - 1)
    if registry == DOCKER_HUB and len(components) == 1:
        path = f"library/{path}"
    if (length := len(registry) + 1 + len(path)) > NAME_MAX_LENGTH:
        hint = f"registry/repository may have at most {NAME_MAX_LENGTH} characters"
        raise InvalidReference(f"image name is {length} characters long", hint=hint)
    return registry, path


def _check_path_component(component: str, path: str, *, last: bool) -> None:
    if not component:
        where = "a trailing '/'" if last else "an empty path component ('//' or leading '/')"
        raise InvalidReference(f"repository path '{path}' has {where}", hint=_PATH_HINT)
    if component != component.lower():
        hint = "only the registry host is case-insensitive; write the path in lowercase"
        raise InvalidReference(f"repository name must be lowercase: '{path}'", hint=hint)
    if not _PATH_COMPONENT_RE.fullmatch(component):
        raise InvalidReference(f"invalid path component '{component}'", hint=_PATH_HINT)


_PATTERN_HINT = "write registry/path patterns like 'gcr.io/project/**' or '*.gcr.io/**'"


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a usable name pattern; raise InvalidReference if not.

    Restrictions beyond the characters a name can hold: ``**`` only as the whole last
    segment (regorus and OPA disagree on ``a/**/b`` vs ``a/b``, ``**/a`` vs ``a`` and on
    ``**`` inside a segment), no ``***``, and at least ``host/…``: a name always has a
    repository, so ``gcr.io`` alone or ``library/nginx`` would silently match nothing.
    IPv6 registries cannot be named (``[``/``]`` are glob metacharacters).
    """
    _check_characters(pattern, "pattern")
    bad = re.search(r"[^a-z0-9._:/*-]", pattern)
    if bad:
        char = bad.group()
        if char in "?[]{}\\!":
            what = f"glob metacharacter '{char}' (only * and ** are supported)"
        elif char.isupper():
            what = f"uppercase letter '{char}' (names are lowercase)"
        else:
            what = f"character '{char}', which no image name contains"
        raise InvalidReference(f"pattern '{pattern}' has {what}", hint=_PATTERN_HINT)
    if pattern == "**":
        return pattern
    segments = pattern.split("/")
    first, problem, hint = segments[0], "", _PATTERN_HINT
    if "" in segments:
        problem = "has an empty segment"
    elif len(segments) < 2:
        problem = "matches no image: names are registry/repository"
        hint = f"to allow a whole registry write '{pattern}/**'"
    elif "**" in pattern and ("**" in pattern[:-3] or not pattern.endswith("/**")):
        problem = "uses '**' other than as the whole last segment"
        hint = "use '*' for exactly one segment, or end the pattern with '/**'"
    elif first in _DOCKER_HUB_ALIASES:
        problem, hint = f"names '{first}'", f"Docker Hub is normalised: write '{DOCKER_HUB}'"
    elif not re.search(r"[.:*]", first) and first != "localhost":
        problem = "does not start with a registry host"
        hint = f"names are fully qualified: write e.g. '{DOCKER_HUB}/{pattern}'"
    if problem:
        raise InvalidReference(f"pattern '{pattern}' {problem}", hint=hint)
    return pattern


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    validate_pattern(pattern)
    parts = re.split(r"(\*\*|\*)", pattern)
    table = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(table.get(part, re.escape(part)) for part in parts), re.DOTALL)


def match_pattern(pattern: str, name: str) -> bool:
    """Whether ``name`` (registry/repository) matches ``pattern`` as a whole.

    As in OPA's glob: ``*`` is any run of characters other than ``/``, possibly empty (so
    ``*.gcr.io/**`` also matches ``a.b.gcr.io/x``); ``**`` is any run including ``/``;
    everything else is literal. Raises InvalidReference for an invalid pattern.
    """
    return _compile(pattern).fullmatch(name) is not None


def matches_any(patterns: Iterable[str], name: str) -> bool:
    """Whether any pattern matches; every pattern is validated, even after a match."""
    if isinstance(patterns, str):
        raise TypeError("matches_any takes a collection of patterns, not one string")
    compiled = [_compile(pattern) for pattern in patterns]
    return any(regex.fullmatch(name) is not None for regex in compiled)
