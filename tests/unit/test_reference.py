"""Image reference grammar and registry name patterns (gate.reference).

The pattern tests hold Python to Rego's ``glob.match(pattern, ["/"], name)``: always
against the embedded engine (regorus), and against real OPA when it is installed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from gate.errors import InvalidReference
from gate.reference import (
    ImageRef,
    match_pattern,
    matches_any,
    parse_reference,
    validate_pattern,
)
from tests.conftest import require_module, require_tool

H64 = "0123456789abcdef" * 4
H128 = H64 * 2
D256 = f"sha256:{H64}"
D512 = f"sha512:{H128}"
HUB = "docker.io"
# deadline=None: other jobs share the machine; timing is not what these tests check
RELAXED = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

# (text, registry, repository, tag, digest)
VALID: list[tuple[str, str, str, str | None, str | None]] = [
    ("nginx", HUB, "library/nginx", None, None),
    ("nginx:1.27", HUB, "library/nginx", "1.27", None),
    ("docker.io/nginx", HUB, "library/nginx", None, None),
    ("docker.io/library/nginx", HUB, "library/nginx", None, None),
    ("index.docker.io/nginx", HUB, "library/nginx", None, None),
    ("INDEX.DOCKER.IO/nginx", HUB, "library/nginx", None, None),
    ("registry-1.docker.io/library/nginx:latest", HUB, "library/nginx", "latest", None),
    ("library/nginx", HUB, "library/nginx", None, None),
    ("user/repo", HUB, "user/repo", None, None),
    ("docker.io/user/repo:tag", HUB, "user/repo", "tag", None),
    ("a/b/c/d/e/f", HUB, "a/b/c/d/e/f", None, None),
    ("gcr.io/x", "gcr.io", "x", None, None),  # library/ is only for Docker Hub
    ("gcr.io/my-project/app", "gcr.io", "my-project/app", None, None),
    ("GCR.IO/proj/app", "gcr.io", "proj/app", None, None),
    ("Registry.Example.COM:8443/team/app", "registry.example.com:8443", "team/app", None, None),
    ("us-docker.pkg.dev/p/r/img:v1", "us-docker.pkg.dev", "p/r/img", "v1", None),
    (
        "europe-west1-docker.pkg.dev/p/r/a/b/c/d",
        "europe-west1-docker.pkg.dev",
        "p/r/a/b/c/d",
        None,
        None,
    ),
    ("us-docker.pkg.dev.evil.example/x", "us-docker.pkg.dev.evil.example", "x", None, None),
    ("evil.example/us-docker.pkg.dev/x", "evil.example", "us-docker.pkg.dev/x", None, None),
    ("localhost/x", "localhost", "x", None, None),
    ("localhost:5000/x", "localhost:5000", "x", None, None),
    ("localhost:5000/x:5000", "localhost:5000", "x", "5000", None),
    ("localhost", HUB, "library/localhost", None, None),  # no '/': not a host
    ("localhost:5000", HUB, "library/localhost", "5000", None),  # as docker reads it
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", None, None),
    ("[::1]:5000/x", "[::1]:5000", "x", None, None),
    ("[fe80::1]/x", "[fe80::1]", "x", None, None),
    ("[FE80::1]:443/x:t", "[fe80::1]:443", "x", "t", None),
    ("my.registry/x", "my.registry", "x", None, None),
    ("a.b", HUB, "library/a.b", None, None),
    ("a__b", HUB, "library/a__b", None, None),
    ("a---b", HUB, "library/a---b", None, None),
    ("a_b", HUB, "library/a_b", None, None),
    ("x/a.b-c_d__e9", HUB, "x/a.b-c_d__e9", None, None),
    ("nginx@" + D256, HUB, "library/nginx", None, D256),
    ("nginx:1.27@" + D256, HUB, "library/nginx", "1.27", D256),
    ("gcr.io/p/app@" + D512, "gcr.io", "p/app", None, D512),
    ("localhost:5000/x:t@" + D256, "localhost:5000", "x", "t", D256),
    ("nginx:" + "a" * 128, HUB, "library/nginx", "a" * 128, None),
    ("nginx:_under", HUB, "library/nginx", "_under", None),
    ("nginx:A.B-c_D", HUB, "library/nginx", "A.B-c_D", None),
    ("example.com/" + "a" * 243, "example.com", "a" * 243, None, None),  # name is 255
    ("a" * 237, HUB, "library/" + "a" * 237, None, None),  # docker.io/library/a… is 255
]

# (text, part of the expected message)
INVALID: list[tuple[str, str]] = [
    ("", "empty image reference"),
    ("Nginx", "must be lowercase"),
    ("gcr.io/Proj/app", "must be lowercase"),
    ("Foo/bar", "must be lowercase"),  # distribution would call "Foo" a host; we refuse
    ("LOCALHOST/x", "must be lowercase"),
    ("user:pass@gcr.io/x", "credentials"),
    ("user@gcr.io/x", "credentials"),
    ("gcr.io@evil.example/x", "credentials"),
    (f"gcr.io/x@{D256}@{D256}", "more than one digest"),
    ("nginx@sha256:" + H64[:63], "63 hex characters, expected 64"),
    ("nginx@sha256:" + H64 + "0", "65 hex characters, expected 64"),
    ("nginx@sha256:" + H64.upper(), "uppercase hex"),
    ("nginx@sha512:" + H64, "64 hex characters, expected 128"),
    ("nginx@md5:" + H64[:32], "unsupported digest algorithm 'md5'"),
    ("nginx@sha384:" + H128[:96], "unsupported digest algorithm 'sha384'"),
    ("nginx@SHA256:" + H64, "unsupported digest algorithm"),
    ("nginx@", "is not algorithm:hex"),
    ("nginx@latest", "is not algorithm:hex"),
    ("nginx@sha256:" + H64[:60] + "xyz!", "non-hex"),
    ("@" + D256, "no repository name"),
    (":tag", "missing repository name"),
    ("https://gcr.io/x", "URL scheme"),
    ("docker://nginx", "URL scheme"),
    ("gcr.io/x/", "trailing '/'"),
    ("gcr.io/", "trailing '/'"),
    ("gcr.io/x:", "no tag"),
    ("gcr.io//x", "empty path component"),
    ("/x", "empty path component"),
    (" nginx", "whitespace"),
    ("nginx ", "whitespace"),
    ("ngi nx", "whitespace"),
    ("nginx\n", "whitespace"),
    ("nginx\t:1", "whitespace"),
    ("nginx\x00", "control"),
    ("nginx\x7f", "control"),
    ("gcr.\u0456o/x", "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
    ("gcr.io/d\u0435mo", "CYRILLIC SMALL LETTER IE"),
    ("\uff4eginx", "FULLWIDTH LATIN SMALL LETTER N"),
    ("gcr.io/x:t\u0430g", "non-ASCII"),
    ("nginx\u200b", "ZERO WIDTH SPACE"),
    ("a._b", "invalid path component 'a._b'"),
    ("gcr.io/a..b", "invalid path component"),
    ("gcr.io/-a", "invalid path component"),
    ("gcr.io/a-", "invalid path component"),
    ("gcr.io/a/_b", "invalid path component"),
    ("a..b/c", "invalid registry host 'a..b'"),
    ("-gcr.io/x", "invalid registry host"),
    ("gcr-.io/x", "invalid registry host"),
    ("gcr_io.com/x", "invalid registry host"),
    ("gcr.io:abc/x", "invalid registry host"),
    ("gcr.io:/x", "invalid registry host"),
    ("[]:5000/x", "invalid registry host"),
    ("[::g]/x", "invalid registry host"),
    ("[::1]:5000:5001/x", "invalid registry host"),
    ("gcr.io/x:tag:tag2", "invalid path component 'x:tag'"),
    ("nginx:" + "a" * 129, "129 characters, at most 128"),
    ("nginx:.x", "invalid tag '.x'"),
    ("nginx:-x", "invalid tag '-x'"),
    ("nginx:a+b", "invalid tag 'a+b'"),
    ("example.com/" + "a" * 244, "256 characters long"),
    ("a" * 238, "256 characters long"),  # docker.io/library/ counts
    (H64, "image ID"),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), VALID)
def test_valid_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert ref == ImageRef(registry, repository, tag, digest, text)
    assert ref.name == f"{registry}/{repository}"
    assert parse_reference(ref.normalized) == dataclasses.replace(ref, original=ref.normalized)


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_references(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert message in info.value.message
    assert info.value.hint
    assert info.value.kind == "reference"


@pytest.mark.parametrize("text", ["user:hunter2@gcr.io/x", "https://user:hunter2@gcr.io/x"])
def test_credentials_are_not_echoed(text: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert "hunter2" not in info.value.message + info.value.hint


@pytest.mark.parametrize("value", [None, ["gcr.io/p/app:1"], {"image": "gcr.io/p/app:1"}, 7])
def test_non_string_is_invalid_reference(value: object) -> None:
    # Parsed references are kept by text: an unhashable value must still be a clear error.
    with pytest.raises(InvalidReference, match="must be a string"):
        parse_reference(value)  # type: ignore[arg-type]


def test_a_kept_reference_is_the_same_and_errors_are_not_kept() -> None:
    text = "europe-docker.pkg.dev/p/kept/app:2.0"
    assert parse_reference(text) is parse_reference(text)
    for _ in range(2):
        with pytest.raises(InvalidReference, match="invalid tag"):
            parse_reference("gcr.io/p/app:-bad")


def test_ref_views() -> None:
    ref = parse_reference("GCR.io/p/app:1.0")
    assert str(ref) == ref.normalized == "gcr.io/p/app:1.0"
    assert ref.to_input() == {
        "original": "GCR.io/p/app:1.0",
        "registry": "gcr.io",
        "repository": "p/app",
        "name": "gcr.io/p/app",
        "tag": "1.0",
        "digest": None,
        "normalized": "gcr.io/p/app:1.0",
    }
    pinned = ref.with_digest(D256)
    assert (pinned.tag, pinned.digest, pinned.original) == ("1.0", D256, "GCR.io/p/app:1.0")
    assert pinned.normalized == f"gcr.io/p/app:1.0@{D256}"
    assert parse_reference("nginx").normalized == "docker.io/library/nginx"  # no :latest
    with pytest.raises(InvalidReference, match="uppercase hex"):
        ref.with_digest(D256.upper().replace("SHA", "sha"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "x"  # type: ignore[misc]


# (pattern, name, matches)
PATTERNS: list[tuple[str, str, bool]] = [
    ("gcr.io/p/app", "gcr.io/p/app", True),
    ("gcr.io/p/app", "gcr.io/p/app2", False),
    ("gcr.io/p/app", "gcr.io/p/app/x", False),
    ("gcr.io/p/*", "gcr.io/p/app", True),
    ("gcr.io/p/*", "gcr.io/p/app/x", False),
    ("gcr.io/p/*", "gcr.io/p", False),
    ("gcr.io/p/**", "gcr.io/p/app/x/y", True),
    ("gcr.io/p/**", "gcr.io/p", False),
    ("gcr.io/p/**", "gcr.io/pp/app", False),
    ("gcr.io/*/app", "gcr.io/p/app", True),
    ("gcr.io/*/app", "gcr.io/p/q/app", False),
    ("gcr.io/p*/app", "gcr.io/p/app", True),  # '*' matches the empty string
    ("gcr.io/p*/app", "gcr.io/proj/app", True),
    ("gcr.io/*-prod/**", "gcr.io/team-prod/app", True),
    ("gcr.io/*-prod/**", "gcr.io/team-dev/app", False),
    ("us-docker.pkg.dev/**", "us-docker.pkg.dev/p/r/img", True),
    ("us-docker.pkg.dev/**", "us-docker.pkg.dev.evil.example/x", False),
    ("us-docker.pkg.dev/**", "evil.example/us-docker.pkg.dev/x", False),
    ("us-docker.pkg.dev/**", "evil-us-docker.pkg.dev/x", False),
    ("us-docker.pkg.dev/**", "us-docker.pkg.dev", False),
    ("us-docker.pkg.dev/**", "us-docker.pkg.dev:443/x", False),
    ("us-docker.pkg.dev/p/**", "us-docker.pkg.dev/p.evil/x", False),
    ("gcr.io/p.x/app", "gcr.io/pax/app", False),  # '.' is literal
    ("*.gcr.io/**", "eu.gcr.io/p/app", True),
    ("*.gcr.io/**", "a.b.gcr.io/p/app", True),  # '*' does not stop at '.'
    ("*.gcr.io/**", "gcr.io/p/app", False),
    ("*.gcr.io/**", "eu.gcr.io.evil.example/p/app", False),
    ("*.gcr.io/**", "evil.example/eu.gcr.io/app", False),
    ("*/library/nginx", "docker.io/library/nginx", True),
    ("docker.io/library/*", "docker.io/library/nginx", True),
    ("docker.io/library/*", "docker.io/user/nginx", False),
    ("localhost:5000/**", "localhost:5000/x", True),
    ("localhost:5000/**", "localhost:5001/x", False),
    ("localhost:*/**", "localhost:5001/x", True),
    ("localhost/*", "localhost/x", True),
    ("**", "gcr.io/anything/at/all", True),
    ("*/*", "gcr.io/x", True),
    ("*/*", "gcr.io/x/y", False),
    ("*/**", "gcr.io/x/y", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), PATTERNS)
def test_pattern_table(pattern: str, name: str, expected: bool) -> None:
    assert match_pattern(pattern, name) is expected
    assert matches_any(["example.org/none", pattern], name) is expected


INVALID_PATTERNS: list[tuple[str, str]] = [
    ("", "empty pattern"),
    ("gcr.io/p/app?", "metacharacter '?'"),
    ("gcr.io/[ab]/x", "metacharacter '['"),
    ("gcr.io/{a,b}/x", "metacharacter '{'"),
    ("gcr.io/\\*/x", "metacharacter '\\'"),
    ("!gcr.io/**", "metacharacter '!'"),
    ("gcr.io/ p/**", "whitespace"),
    ("gcr.io/p/**\n", "whitespace"),
    ("GCR.io/**", "uppercase"),
    ("https://gcr.io/**", "URL scheme"),
    ("gcr.\u0456o/**", "non-ASCII"),
    ("gcr.io/p@x", "character '@'"),
    ("gcr.io", "matches no image"),
    ("*", "matches no image"),
    ("gcr.io/", "empty segment"),
    ("gcr.io//x", "empty segment"),
    ("/gcr.io/x", "empty segment"),
    ("library/nginx", "does not start with a registry host"),
    ("index.docker.io/**", "write 'docker.io'"),
    # regorus (wax) and OPA (gobwas) disagree on every one of these:
    ("gcr.io/**/app", "whole last segment"),  # vs gcr.io/app
    ("**/app", "whole last segment"),  # vs app
    ("gcr.io/p**", "whole last segment"),  # vs gcr.io/p/x
    ("**.gcr.io/x", "whole last segment"),
    ("gcr.io/***", "whole last segment"),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID_PATTERNS)
def test_invalid_patterns(pattern: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        validate_pattern(pattern)
    assert message in info.value.message or message in info.value.hint
    assert info.value.hint
    with pytest.raises(InvalidReference):
        match_pattern(pattern, "gcr.io/x")


def test_valid_pattern_is_returned() -> None:
    assert validate_pattern("*.gcr.io/**") == "*.gcr.io/**"


def test_matches_any_validates_every_pattern() -> None:
    with pytest.raises(InvalidReference):
        matches_any(["gcr.io/**", "gcr.io/[x]"], "gcr.io/a")
    with pytest.raises(TypeError):
        matches_any("gcr.io/**", "gcr.io/a")
    assert not matches_any([], "gcr.io/a")


# --- property tests: references -------------------------------------------------------

_host_component = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
_port = st.integers(0, 99999).map(lambda n: f":{n}")


@st.composite
def _domains(draw: st.DrawFn) -> tuple[str, str] | None:
    """None (Docker Hub implied) or (as written, expected registry)."""
    kind = draw(st.sampled_from(["none", "dns", "port", "localhost", "ipv6", "hub"]))
    if kind == "none":
        return None
    if kind == "hub":
        host = draw(st.sampled_from(["docker.io", "index.docker.io", "registry-1.docker.io"]))
        written = draw(st.sampled_from([host, host.upper()]))
        return written, HUB
    if kind == "localhost":
        written = "localhost" + draw(st.sampled_from(["", ":5000"]))
    elif kind == "ipv6":
        # the grammar's [hex:] body; with no ':' it would not be recognised as a host
        written = (
            "[" + draw(st.from_regex(r"[0-9a-fA-F:]{0,6}:[0-9a-fA-F:]{0,6}", fullmatch=True)) + "]"
        )
        written += draw(st.one_of(st.just(""), _port))
    else:
        parts = draw(st.lists(_host_component, min_size=2 if kind == "dns" else 1, max_size=4))
        written = ".".join(parts) + (draw(_port) if kind == "port" else "")
    return written, written.lower()


_path_component = st.from_regex(
    r"[a-z0-9]{1,4}((\.|_|__|-{1,3})[a-z0-9]{1,4}){0,2}", fullmatch=True
)
_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)
_digests = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}"),
    st.text("0123456789abcdef", min_size=128, max_size=128).map(lambda h: f"sha512:{h}"),
)


@st.composite
def valid_references(draw: st.DrawFn) -> tuple[str, ImageRef]:
    """A reference built from the grammar, and the ImageRef it must parse to."""
    domain = draw(_domains())
    path = draw(st.lists(_path_component, min_size=1, max_size=5))
    tag = draw(st.one_of(st.none(), _tags))
    digest = draw(st.one_of(st.none(), _digests))
    if domain is None:
        # a first component with '.' (or "localhost") before a '/' is a host, not a path
        assume(len(path) == 1 or ("." not in path[0] and path[0] != "localhost"))
        registry, text = HUB, "/".join(path)
    else:
        registry, text = domain[1], f"{domain[0]}/{'/'.join(path)}"
    repository = "/".join(["library", *path] if registry == HUB and len(path) == 1 else path)
    assume(len(registry) + 1 + len(repository) <= 255)
    text += (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest is not None else "")
    assume(text != H64 and not (len(text) == 64 and set(text) <= set("0123456789abcdef")))
    return text, ImageRef(registry, repository, tag, digest, text)


@given(valid_references())
@settings(RELAXED, max_examples=200)
def test_generated_references_parse(case: tuple[str, ImageRef]) -> None:
    text, expected = case
    ref = parse_reference(text)
    assert ref == expected
    again = parse_reference(ref.normalized)
    assert again == dataclasses.replace(ref, original=ref.normalized)
    assert again.normalized == ref.normalized


_junk = st.sampled_from([" ", "\t", "\n", "\x00", "\u0435", "\uff41", "\u200b", "\u00a0"])


@given(valid_references(), _junk, st.integers(min_value=0))
@settings(RELAXED)
def test_junk_anywhere_is_rejected(case: tuple[str, ImageRef], junk: str, at: int) -> None:
    text = case[0]
    at %= len(text) + 1
    with pytest.raises(InvalidReference):
        parse_reference(text[:at] + junk + text[at:])


@given(valid_references())
@settings(RELAXED)
def test_uppercase_repository_is_rejected(case: tuple[str, ImageRef]) -> None:
    ref = case[1]
    assume(any(c.isalpha() for c in ref.repository))
    upper = f"{ref.registry}/{ref.repository.upper()}"
    with pytest.raises(InvalidReference, match="lowercase"):
        parse_reference(upper)


@given(st.text(max_size=80))
@example("a@b@c/d")
@example("[::1]")
def test_any_text_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as err:
        assert err.message and err.hint
    else:
        assert parse_reference(ref.normalized).normalized == ref.normalized


# --- property tests: patterns ---------------------------------------------------------


def _segment_matches(pattern: str, segment: str) -> bool:
    """'*' matches any run of characters inside one segment (written without regex)."""
    if not pattern:
        return not segment
    if pattern[0] == "*":
        return any(_segment_matches(pattern[1:], segment[i:]) for i in range(len(segment) + 1))
    return bool(segment) and pattern[0] == segment[0] and _segment_matches(pattern[1:], segment[1:])


def reference_match(pattern: str, name: str) -> bool:
    """Independent matcher for validated patterns: segment by segment; a final '**'
    matches one or more further segments (glob: '**' is any text, after the '/')."""
    p_segments, n_segments = pattern.split("/"), name.split("/")
    if p_segments[-1] == "**":
        fixed = p_segments[:-1]
        return len(n_segments) > len(fixed) and all(map(_segment_matches, fixed, n_segments))
    return len(p_segments) == len(n_segments) and all(map(_segment_matches, p_segments, n_segments))


_seg_chars = "ab.-:"
_literal = st.text(_seg_chars, min_size=1, max_size=3)


@st.composite
def _pattern_segments(draw: st.DrawFn) -> str:
    """Literal runs and single '*'s, never two '*' in a row (validate_pattern's rule)."""
    tokens = draw(st.lists(st.one_of(_literal, st.just("*")), min_size=1, max_size=4))
    return re.sub(r"\*+", "*", "".join(tokens))


@st.composite
def valid_patterns(draw: st.DrawFn) -> str:
    segments = draw(st.lists(_pattern_segments(), min_size=1, max_size=4))
    if not re.search(r"[.:*]", segments[0]):
        segments[0] += "."  # the first segment must look like a host (or be a wildcard)
    if len(segments) == 1 or draw(st.booleans()):
        segments.append("**")
    return "/".join(segments)


@st.composite
def pattern_and_name(draw: st.DrawFn) -> tuple[str, str]:
    """A valid pattern, and a name that is often an instance of it (then maybe mutated)."""
    pattern = draw(valid_patterns())
    filler = st.text(_seg_chars, max_size=3)
    name = "".join(
        draw(
            st.lists(st.text(_seg_chars, min_size=1, max_size=3), min_size=1, max_size=3).map(
                "/".join
            )
        )
        if part == "**"
        else draw(filler)
        if part == "*"
        else part
        for part in _tokens(pattern)
    )
    mutations = [
        name + "/x",
        name + "x",
        "x" + name,
        name[:-1] or "x",
        "evil.example/" + name,
        name.replace("/", ".", 1),
        name.replace(".", "x", 1),
    ]
    choice = draw(st.integers(0, 2))
    if choice == 1:
        name = draw(st.sampled_from(mutations))
    elif choice == 2:
        name = draw(st.lists(_literal, min_size=1, max_size=4).map("/".join))
    return pattern, name


def _tokens(pattern: str) -> list[str]:
    return [t for t in re.split(r"(\*\*|\*)", pattern) if t]


@given(pattern_and_name())
@settings(RELAXED, max_examples=200)
def test_match_pattern_equals_reference_matcher(case: tuple[str, str]) -> None:
    pattern, name = case
    assert match_pattern(pattern, name) is reference_match(pattern, name)


@given(valid_references(), valid_references())
@settings(RELAXED)
def test_registry_pattern_matches_exactly_its_host(
    a: tuple[str, ImageRef], b: tuple[str, ImageRef]
) -> None:
    registry, ref = a[1].registry, b[1]
    assume(not registry.startswith("["))  # IPv6 hosts cannot be written in a pattern
    assert match_pattern(f"{registry}/**", ref.name) is (ref.registry == registry)
    assert match_pattern(f"{registry}/**", a[1].name)


# --- cross-checks with Rego's glob.match ----------------------------------------------

_GLOB_POLICY = 'package p\nimport rego.v1\nm := glob.match(input.p, ["/"], input.n)\n'


@pytest.fixture(scope="module")
def rego_glob() -> Callable[[str, str], Any]:
    regorus = require_module("regorus")
    engine = regorus.Engine()
    engine.add_policy("p.rego", _GLOB_POLICY)

    def glob_match(pattern: str, name: str) -> Any:
        engine.set_input({"p": pattern, "n": name})
        return engine.eval_rule("data.p.m")

    return glob_match


@pytest.mark.parametrize(("pattern", "name", "expected"), PATTERNS)
def test_pattern_table_equals_regorus(
    rego_glob: Callable[[str, str], Any], pattern: str, name: str, expected: bool
) -> None:
    assert rego_glob(pattern, name) is expected is match_pattern(pattern, name)


@given(pattern_and_name())
@settings(RELAXED, max_examples=200)
def test_match_pattern_equals_regorus(
    rego_glob: Callable[[str, str], Any], case: tuple[str, str]
) -> None:
    pattern, name = case
    assert match_pattern(pattern, name) is rego_glob(pattern, name)


@pytest.fixture(scope="module")
def opa_bin() -> str:
    return require_tool("opa", "OPA_BIN")


def _opa_glob(opa: str, cases: list[tuple[str, str]]) -> list[bool]:
    policy = 'package p\nimport rego.v1\nm := [glob.match(c[0], ["/"], c[1]) | some c in input]\n'
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "p.rego").write_text(policy)
        (Path(tmp) / "input.json").write_text(json.dumps(cases))
        out = subprocess.run(
            [
                opa,
                "eval",
                "-f",
                "raw",
                "-d",
                f"{tmp}/p.rego",
                "-i",
                f"{tmp}/input.json",
                "data.p.m",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    result: list[bool] = json.loads(out.stdout)
    return result


@pytest.mark.integration
@given(st.lists(pattern_and_name(), min_size=20, max_size=60))
@settings(RELAXED, max_examples=5)
def test_match_pattern_equals_opa(opa_bin: str, cases: list[tuple[str, str]]) -> None:
    cases = cases + [(p, n) for p, n, _ in PATTERNS]
    assert [match_pattern(p, n) for p, n in cases] == _opa_glob(opa_bin, cases)
